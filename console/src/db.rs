//! The console's own tables (users, sessions, API tokens, audit), kept in the collector's database beside its batches so that
//! one backup holds both. Only this module writes SQL for them, always with
//! bound parameters.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The store's database file inside the store folder (the collector's name).
const DB_FILE: &str = "collector.sqlite";

/// A user keeps at most this many live sessions; the oldest go first.
const SESSIONS_PER_USER: i64 = 20;

/// Audit rows are kept this long (a year and a month, for a yearly review).
const AUDIT_KEEP_US: i64 = 400 * 86_400 * 1_000_000;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY,
    customer TEXT,
    password TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    lang TEXT NOT NULL DEFAULT 'ja',
    created INTEGER NOT NULL,
    last_visit INTEGER,
    admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    prev_visit INTEGER
);
CREATE INDEX IF NOT EXISTS console_sessions_user ON console_sessions (user, created);
CREATE TABLE IF NOT EXISTS console_tokens (
    token_sha256 BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    label TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS console_audit (
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS console_audit_at ON console_audit (at);";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("console tables in {file}: {source}")]
    Sql {
        file: String,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Store(#[from] osect_collector::store::StoreError),
    #[error("analysis state: {0}")]
    Ledger(String),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("no user named {0}")]
    NoUser(String),
}

/// Who a user is: the service operator's staff see every customer; a
/// customer's staff see that customer's sites only, and its admins may also
/// change those sites' zones and maintenance windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Operator,
    Customer(String),
    CustomerAdmin(String),
}

impl Role {
    /// The customer whose sites this role is limited to; `None` for operators.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Role::Operator => None,
            Role::Customer(c) | Role::CustomerAdmin(c) => Some(c),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Customer(_) => "customer",
            Role::CustomerAdmin(_) => "customer-admin",
        }
    }

    /// Whether this role may change a site's zones and maintenance windows.
    pub fn configures(&self) -> bool {
        !matches!(self, Role::Customer(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub lang: Lang,
    pub disabled: bool,
    pub created_us: i64,
    pub last_visit_us: Option<i64>,
}

/// A live session and the user it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    pub expires_us: i64,
    /// The user's previous visit when this session began: "changes since
    /// your last visit" start here.
    pub prev_visit_us: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at_us: i64,
    pub who: String,
    pub address: String,
    pub action: String,
    pub detail: String,
}

pub struct ConsoleDb {
    db: Connection,
    file: String,
}

const USER_COLS: &str = "name, customer, disabled, lang, created, last_visit, admin";
/// [`USER_COLS`] of the users table joined as `u`.
const JOINED_USER_COLS: &str =
    "u.name, u.customer, u.disabled, u.lang, u.created, u.last_visit, u.admin";

fn user_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<User> {
    let customer: Option<String> = r.get(at + 1)?;
    let lang: String = r.get(at + 3)?;
    let admin = r.get::<_, i64>(at + 6)? != 0;
    Ok(User {
        name: r.get(at)?,
        role: match customer {
            None => Role::Operator,
            Some(c) if admin => Role::CustomerAdmin(c),
            Some(c) => Role::Customer(c),
        },
        disabled: r.get::<_, i64>(at + 2)? != 0,
        lang: Lang::parse(&lang).unwrap_or(Lang::Ja),
        created_us: r.get(at + 4)?,
        last_visit_us: r.get(at + 5)?,
    })
}

impl ConsoleDb {
    /// Opens the store in `dir` (creating or migrating it as the collector
    /// does) and the console's tables beside it.
    pub fn open(dir: &Path) -> Result<ConsoleDb, DbError> {
        drop(osect_collector::store::Store::open(dir)?);
        let path = dir.join(DB_FILE);
        let file = path.display().to_string();
        let sql = |source| DbError::Sql {
            file: file.clone(),
            source,
        };
        let db = Connection::open(&path).map_err(sql)?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        db.execute_batch(CREATE).map_err(sql)?;
        // Tables made before customer admins existed get the column.
        let has_admin = db
            .prepare("SELECT 1 FROM pragma_table_info('console_users') WHERE name = 'admin'")
            .and_then(|mut q| q.exists([]))
            .map_err(sql)?;
        if !has_admin {
            db.execute_batch(
                "ALTER TABLE console_users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0",
            )
            .map_err(sql)?;
        }
        Ok(ConsoleDb { db, file })
    }

    fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sql {
            file: self.file.clone(),
            source,
        }
    }

    pub fn add_user(
        &self,
        name: &str,
        role: &Role,
        password_hash: &str,
        lang: Lang,
        now_us: i64,
    ) -> Result<(), DbError> {
        let admin = matches!(role, Role::CustomerAdmin(_));
        let n = self
            .db
            .execute(
                "INSERT OR IGNORE INTO console_users (name, customer, password, lang, created, admin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, role.customer(), password_hash, lang.code(), now_us, admin],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(DbError::UserExists(name.to_owned()));
        }
        Ok(())
    }

    /// Removes a user with its sessions and tokens (the demo's throw-away
    /// login); the audit rows stay.
    pub fn remove_user(&mut self, name: &str) -> Result<(), DbError> {
        let tx = self.db.transaction().map_err(|e| DbError::Sql {
            file: self.file.clone(),
            source: e,
        })?;
        let run = |sql: &str| tx.execute(sql, params![name]);
        let result = run("DELETE FROM console_sessions WHERE user = ?1")
            .and_then(|_| run("DELETE FROM console_tokens WHERE user = ?1"))
            .and_then(|_| run("DELETE FROM console_users WHERE name = ?1"));
        match result.and_then(|_| tx.commit()) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Disables a user and ends its sessions and tokens at once.
    pub fn disable_user(&mut self, name: &str) -> Result<(), DbError> {
        let n = self
            .db
            .execute(
                "UPDATE console_users SET disabled = 1 WHERE name = ?1",
                params![name],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(DbError::NoUser(name.to_owned()));
        }
        self.db
            .execute(
                "DELETE FROM console_sessions WHERE user = ?1",
                params![name],
            )
            .map_err(|e| self.err(e))?;
        self.db
            .execute("DELETE FROM console_tokens WHERE user = ?1", params![name])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<User>, DbError> {
        let mut q = self
            .db
            .prepare(&format!(
                "SELECT {USER_COLS} FROM console_users ORDER BY name"
            ))
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([], |r| user_from_row(r, 0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(|e| self.err(e))
    }

    /// A user and its password hash.
    pub fn user(&self, name: &str) -> Result<Option<(User, String)>, DbError> {
        self.db
            .query_row(
                &format!("SELECT {USER_COLS}, password FROM console_users WHERE name = ?1"),
                params![name],
                |r| Ok((user_from_row(r, 0)?, r.get(7)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_lang(&self, name: &str, lang: Lang) -> Result<(), DbError> {
        self.db
            .execute(
                "UPDATE console_users SET lang = ?2 WHERE name = ?1",
                params![name, lang.code()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Starts a session: the user's last visit becomes the session's
    /// previous visit and now becomes the last visit. Expired sessions are
    /// removed and the user keeps at most [`SESSIONS_PER_USER`].
    pub fn create_session(
        &mut self,
        user: &str,
        id_sha256: &[u8],
        csrf: &str,
        now_us: i64,
        expires_us: i64,
    ) -> Result<(), DbError> {
        let file = self.file.clone();
        let sql = |source| DbError::Sql {
            file: file.clone(),
            source,
        };
        let tx = self.db.transaction().map_err(sql)?;
        tx.execute(
            "DELETE FROM console_sessions WHERE expires <= ?1",
            params![now_us],
        )
        .map_err(sql)?;
        tx.execute(
            "DELETE FROM console_sessions WHERE user = ?1 AND id_sha256 NOT IN (
                SELECT id_sha256 FROM console_sessions WHERE user = ?1
                ORDER BY created DESC LIMIT ?2)",
            params![user, SESSIONS_PER_USER - 1],
        )
        .map_err(sql)?;
        tx.execute(
            "INSERT INTO console_sessions (id_sha256, user, csrf, created, expires, prev_visit)
             SELECT ?1, name, ?3, ?4, ?5, last_visit FROM console_users WHERE name = ?2",
            params![id_sha256, user, csrf, now_us, expires_us],
        )
        .map_err(sql)?;
        tx.execute(
            "UPDATE console_users SET last_visit = ?2 WHERE name = ?1",
            params![user, now_us],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The live session with this id, if any (not expired, user enabled).
    pub fn session(&self, id_sha256: &[u8], now_us: i64) -> Result<Option<Session>, DbError> {
        self.db
            .query_row(
                &format!(
                    "SELECT s.csrf, s.expires, s.prev_visit, {JOINED_USER_COLS}
                     FROM console_sessions s JOIN console_users u ON u.name = s.user
                     WHERE s.id_sha256 = ?1 AND s.expires > ?2 AND u.disabled = 0"
                ),
                params![id_sha256, now_us],
                |r| {
                    Ok(Session {
                        csrf: r.get(0)?,
                        expires_us: r.get(1)?,
                        prev_visit_us: r.get(2)?,
                        user: user_from_row(r, 3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn end_session(&self, id_sha256: &[u8]) -> Result<(), DbError> {
        self.db
            .execute(
                "DELETE FROM console_sessions WHERE id_sha256 = ?1",
                params![id_sha256],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn add_token(
        &self,
        user: &str,
        token_sha256: &[u8],
        label: &str,
        now_us: i64,
    ) -> Result<(), DbError> {
        if self.user(user)?.is_none() {
            return Err(DbError::NoUser(user.to_owned()));
        }
        self.db
            .execute(
                "INSERT INTO console_tokens (token_sha256, user, label, created)
                 VALUES (?1, ?2, ?3, ?4)",
                params![token_sha256, user, label, now_us],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The enabled user an API token belongs to.
    pub fn token_user(&self, token_sha256: &[u8]) -> Result<Option<User>, DbError> {
        self.db
            .query_row(
                "SELECT u.name, u.customer, u.disabled, u.lang, u.created, u.last_visit, u.admin
                 FROM console_tokens t JOIN console_users u ON u.name = t.user
                 WHERE t.token_sha256 = ?1 AND u.disabled = 0",
                params![token_sha256],
                |r| user_from_row(r, 0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records an action; rows older than [`AUDIT_KEEP_US`] go.
    pub fn audit(
        &self,
        now_us: i64,
        who: &str,
        address: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), DbError> {
        self.db
            .execute(
                "INSERT INTO console_audit (at, who, address, action, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now_us, who, address, action, detail],
            )
            .map_err(|e| self.err(e))?;
        self.db
            .execute(
                "DELETE FROM console_audit WHERE at < ?1",
                params![now_us - AUDIT_KEEP_US],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The latest audit rows, newest first.
    pub fn audit_rows(&self, limit: u32) -> Result<Vec<AuditRow>, DbError> {
        let mut q = self
            .db
            .prepare(
                "SELECT at, who, address, action, detail FROM console_audit
                 ORDER BY at DESC, rowid DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map(params![limit], |r| {
                Ok(AuditRow {
                    at_us: r.get(0)?,
                    who: r.get(1)?,
                    address: r.get(2)?,
                    action: r.get(3)?,
                    detail: r.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(|e| self.err(e))
    }

    /// The version of a site's analysis (0 before any), which every writer
    /// bumps: a state read at the same version is still current.
    pub fn site_version(&self, site: &str) -> Result<i64, DbError> {
        osect_collector::ledger::version(&self.db, site).map_err(|e| DbError::Ledger(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    /// The SQL a `format!` call builds, and the values it puts in.
    fn sql_formats(text: &str) -> Vec<(String, Vec<String>)> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("format!(") {
            rest = &rest[at + 8..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            if !["SELECT ", "INSERT ", "UPDATE ", "DELETE "]
                .iter()
                .any(|k| call.contains(k))
            {
                continue;
            }
            let (literal, args) = call.rsplit_once('"').unwrap_or((call, ""));
            let mut values: Vec<String> = literal
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                .filter(|n| !n.is_empty())
                .collect();
            values.extend(
                args.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned),
            );
            found.push((call.to_owned(), values));
        }
        found
    }

    #[test]
    fn no_sql_is_built_from_values() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut built = 0;
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // The code, not its tests.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (call, values) in sql_formats(code) {
                built += 1;
                for v in values {
                    // Only constants (column lists) go into SQL text; values
                    // are always bound parameters.
                    assert!(
                        v.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                        "{}: SQL built with {v:?}: format!({call})",
                        path.display()
                    );
                }
            }
        }
        assert!(built >= 3, "the scan found the column-list queries");
        let joined: Vec<String> = super::USER_COLS
            .split(", ")
            .map(|c| ["u.", c].concat())
            .collect();
        assert_eq!(super::JOINED_USER_COLS, joined.join(", "));
        // The scan catches a value put into SQL.
        let bad = sql_formats(r#"format!("SELECT * FROM t WHERE name = '{name}'")"#);
        assert_eq!(bad[0].1, ["name"]);
        let bad = sql_formats(r#"format!("DELETE FROM t WHERE id = {}", id)"#);
        assert_eq!(bad[0].1, ["id"]);
    }
}
