//! The zstd dictionaries both ends know by id.

/// A zstd dictionary trained on the project's records, known to both ends
/// by its id.
pub struct Dictionary {
    pub id: u32,
    pub bytes: &'static [u8],
}

/// Dictionaries this build knows (see `wire/dict/README.md`). A
/// dictionary is never changed once shipped: a new one gets a new id, and
/// collectors keep the old ones for the devices not yet updated.
pub static DICTIONARIES: &[Dictionary] = &[
    Dictionary {
        id: 1,
        bytes: include_bytes!("../../dict/records-v1.zdict"),
    },
    Dictionary {
        id: 2,
        bytes: include_bytes!("../../dict/records-v2.zdict"),
    },
];

pub fn dictionary(id: u32) -> Option<&'static Dictionary> {
    DICTIONARIES.iter().find(|d| d.id == id)
}
