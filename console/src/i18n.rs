//! Interface strings in Japanese and English (one catalogue file per
//! language, embedded), and times shown in a site's time zone.

use crate::db::Lang;
use std::collections::BTreeMap;

const JA: &str = include_str!("../i18n/ja.toml");
const EN: &str = include_str!("../i18n/en.toml");

pub type Catalogue = BTreeMap<String, String>;

/// Both catalogues, parsed once at start.
pub struct Catalogues {
    ja: Catalogue,
    en: Catalogue,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("message catalogue {lang}: {message}")]
pub struct CatalogueError {
    lang: &'static str,
    message: String,
}

impl Catalogues {
    pub fn load() -> Result<Catalogues, CatalogueError> {
        let parse = |lang: &'static str, text: &str| {
            toml::from_str::<Catalogue>(text).map_err(|e| CatalogueError {
                lang,
                message: e.to_string(),
            })
        };
        Ok(Catalogues {
            ja: parse("ja", JA)?,
            en: parse("en", EN)?,
        })
    }

    pub fn get(&self, lang: Lang) -> &Catalogue {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }

    /// The message `key` in `lang` with its `{name}` placeholders filled;
    /// the key itself if the catalogue lacks it (a test keeps them all).
    pub fn say(&self, lang: Lang, msg: &Msg) -> String {
        let Some(text) = self.get(lang).get(msg.key) else {
            return msg.key.to_owned();
        };
        let mut out = text.clone();
        for (name, value) in &msg.args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// Both catalogues, parsed at the first call (they are built into the
/// binary, so a parse error is a build mistake the tests catch).
pub fn catalogues() -> Result<&'static Catalogues, CatalogueError> {
    static LOADED: std::sync::OnceLock<Result<Catalogues, CatalogueError>> =
        std::sync::OnceLock::new();
    LOADED
        .get_or_init(Catalogues::load)
        .as_ref()
        .map_err(Clone::clone)
}

/// A value from the analysis (a control, an attribute) in `lang`: the
/// catalogue's `prefix` + value, else the value as it is.
pub fn word(lang: Lang, prefix: &str, value: &str) -> String {
    catalogues()
        .ok()
        .and_then(|c| c.get(lang).get(&format!("{prefix}{value}")).cloned())
        .unwrap_or_else(|| value.to_owned())
}

/// A message to show the user: a catalogue key and the values of its
/// placeholders (values from the request are shown as given, escaped by
/// the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Msg {
    pub fn new(key: &'static str) -> Msg {
        Msg {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl std::fmt::Display) -> Msg {
        self.args.push((name, value.to_string()));
        self
    }

    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match catalogues() {
            Ok(c) => c.say(lang, self),
            Err(_) => self.key.to_owned(),
        }
    }
}

/// The time zone used where a site has none set.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// A time zone by IANA name, with a clear error for an unknown one.
pub fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name).map_err(|e| format!("time zone {name:?}: {e}"))
}

/// A time in microseconds since the epoch as local date and time in `tz`;
/// `-` for none.
pub fn local_time(us: i64, tz: &jiff::tz::TimeZone) -> String {
    if us <= 0 {
        return "-".into();
    }
    jiff::Timestamp::from_microsecond(us)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| "-".into())
}

/// A duration as people read it, in `lang`: "12.5 ms", "3.2 s",
/// "4 min 5 s", "2 h 10 min", "3 d 4 h"; `-` for none.
pub fn duration(secs: f64, lang: Lang) -> String {
    let say = |key, n: String| Msg::new(key).arg("n", n).text(lang);
    // One decimal, without a trailing ".0".
    let one = |v: f64| {
        let t = format!("{:.1}", v);
        t.strip_suffix(".0").map_or(t.clone(), str::to_owned)
    };
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    if secs < 0.000_999_95 {
        return say("dur_us", one(secs * 1e6));
    }
    if secs < 0.999_95 {
        return say("dur_ms", one(secs * 1e3));
    }
    if secs < 59.95 {
        return say("dur_s", one(secs));
    }
    let whole = secs.round() as u64;
    let (big, small) = if whole < 3600 {
        (("dur_min", whole / 60), ("dur_s", whole % 60))
    } else if whole < 86_400 {
        (("dur_h", whole / 3600), ("dur_min", whole % 3600 / 60))
    } else {
        (("dur_d", whole / 86_400), ("dur_h", whole % 86_400 / 3600))
    };
    let mut out = say(big.0, big.1.to_string());
    if small.1 > 0 {
        out.push(' ');
        out.push_str(&say(small.0, small.1.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_no_empty_string() {
        let c = Catalogues::load().unwrap();
        let ja: Vec<_> = c.ja.keys().collect();
        let en: Vec<_> = c.en.keys().collect();
        assert_eq!(ja, en, "ja.toml and en.toml must name the same keys");
        for (k, v) in c.ja.iter().chain(c.en.iter()) {
            assert!(!v.trim().is_empty(), "{k} is empty");
        }
        let differ =
            c.ja.iter()
                .filter(|(k, v)| c.en.get(*k) != Some(*v))
                .count();
        assert!(
            differ * 10 > c.ja.len() * 9,
            "most strings must be translated"
        );
    }

    /// `{name}` placeholders of a message.
    fn placeholders(text: &str) -> Vec<&str> {
        let mut names: Vec<&str> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(n, _)| n))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn both_languages_fill_the_same_placeholders() {
        let c = Catalogues::load().unwrap();
        for (k, ja) in &c.ja {
            assert_eq!(placeholders(ja), placeholders(&c.en[k]), "{k}");
        }
        let m = Msg::new("err_page").arg("pages", 3).arg("value", 7);
        assert_eq!(m.text(Lang::En), "Page: 1 to 3, not 7.");
        assert_eq!(m.text(Lang::Ja), "ページは 1〜3 です（7 は範囲外です）。");
    }

    #[test]
    fn every_key_the_templates_use_is_in_the_catalogues() {
        let c = Catalogues::load().unwrap();
        for (name, text) in crate::web::TEMPLATES {
            let mut rest = *text;
            while let Some(at) = rest.find("tr.") {
                rest = &rest[at + 3..];
                let key: String = rest
                    .chars()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                    .collect();
                assert!(
                    c.ja.contains_key(&key),
                    "{name} uses tr.{key}, not in ja.toml"
                );
            }
        }
    }

    #[test]
    fn every_alert_kind_severity_and_state_has_its_name() {
        let c = Catalogues::load().unwrap();
        let mut keys: Vec<String> = osect_analysis::AlertKind::ALL
            .iter()
            .map(|k| format!("kind_{}", k.as_str()))
            .collect();
        keys.extend(["low", "medium", "high", "critical"].map(|s| format!("sev_{s}")));
        keys.extend(
            [
                "open",
                "acknowledged",
                "approved",
                "dismissed",
                "active",
                "all",
            ]
            .map(|s| format!("state_{s}")),
        );
        keys.extend(["learning", "settling", "settled"].map(|s| format!("baseline_{s}")));
        keys.extend(
            osect_analysis::AlertKind::ALL
                .iter()
                .map(|k| format!("alert_{}", k.as_str())),
        );
        keys.extend(["learning", "maintenance", "approved"].map(|s| format!("learned_{s}")));
        keys.extend(["read", "write", "other"].map(|s| format!("access_{s}")));
        use osect_wire::protocol::Control;
        for c in [
            Control::ProgramDownload,
            Control::ProgramUpload,
            Control::ProgramAccess,
            Control::Stop,
            Control::Run,
            Control::Pause,
            Control::Restart,
            Control::FileTransfer,
            Control::Command,
            Control::CommControl,
            Control::MemoryWrite,
        ] {
            keys.push(format!("control_{}", c.as_str()));
        }
        for k in keys {
            assert!(
                c.ja.contains_key(&k) && c.en.contains_key(&k),
                "{k} missing"
            );
        }
    }

    #[test]
    fn every_role_a_device_can_play_has_its_name() {
        let c = Catalogues::load().unwrap();
        let roles = osect_engine::protocols::role_names();
        assert!(roles.len() > 20, "{roles:?}");
        for r in roles {
            let key = format!("devrole_{r}");
            assert!(
                c.ja.contains_key(&key) && c.en.contains_key(&key),
                "{key} missing"
            );
        }
        assert_eq!(word(Lang::Ja, "devrole_", "s7_plc"), "PLC（S7）");
        assert_eq!(word(Lang::En, "devrole_", "modbus_server"), "Modbus server");
        assert_eq!(word(Lang::Ja, "devrole_", "unknown_role"), "unknown_role");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        for (secs, en, ja) in [
            (0.000_25, "250 µs", "250 マイクロ秒"),
            (0.0125, "12.5 ms", "12.5 ミリ秒"),
            (0.1, "100 ms", "100 ミリ秒"),
            (0.999_97, "1 s", "1 秒"),
            (3.24, "3.2 s", "3.2 秒"),
            (245.0, "4 min 5 s", "4 分 5 秒"),
            (7_800.0, "2 h 10 min", "2 時間 10 分"),
            (3_600.0, "1 h", "1 時間"),
            (3.0 * 86_400.0 + 4.0 * 3600.0, "3 d 4 h", "3 日 4 時間"),
        ] {
            assert_eq!(duration(secs, Lang::En), en, "{secs}");
            assert_eq!(duration(secs, Lang::Ja), ja, "{secs}");
        }
        assert_eq!(duration(f64::NAN, Lang::En), "-");
        assert_eq!(duration(-1.0, Lang::Ja), "-");
    }

    #[test]
    fn times_are_shown_in_the_sites_zone() {
        let tokyo = time_zone(DEFAULT_TIME_ZONE).unwrap();
        // 2026-01-01T00:00:00Z is 09:00 in Tokyo.
        let us = 1_767_225_600_000_000;
        assert_eq!(local_time(us, &tokyo), "2026-01-01 09:00:00 JST");
        let berlin = time_zone("Europe/Berlin").unwrap();
        assert_eq!(local_time(us, &berlin), "2026-01-01 01:00:00 CET");
        assert_eq!(local_time(0, &tokyo), "-");
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
