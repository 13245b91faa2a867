//! Small integer ids for repeated strings (user names, client labels), so
//! per-day sets hold 4-byte ids instead of strings.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Saved as the list of names; ids are positions in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Interner {
    names: Vec<String>,
    ids: FxHashMap<String, u32>,
}

impl Interner {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 4 billion names");
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Where each id of `other` is in this table (adding the names it
    /// lacks): `map[other_id]`.
    pub fn absorb(&mut self, other: &Self) -> Vec<u32> {
        other.names.iter().map(|name| self.id(name)).collect()
    }
}

impl From<Vec<String>> for Interner {
    fn from(names: Vec<String>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    u32::try_from(i).expect("fewer than 4 billion names"),
                )
            })
            .collect();
        Self { names, ids }
    }
}

impl From<Interner> for Vec<String> {
    fn from(interner: Interner) -> Self {
        interner.names
    }
}
