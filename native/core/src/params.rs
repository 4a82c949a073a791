//! An event's parameters: a handful of names and values, kept sorted by name in one
//! small vector. A large deployment's report has tens of thousands of events, and a
//! sorted map would give each a node of several hundred bytes for two or three entries.

use std::ops::Index;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::events::{Param, Text};

/// Parameters sorted by name, each name once.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Params(Vec<(Text, Param)>);

impl Params {
    /// Sets `name` to `value`, replacing its value if it has one.
    pub fn insert(&mut self, name: Text, value: Param) {
        match self.0.binary_search_by(|(n, _)| n.as_ref().cmp(name.as_ref())) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (name, value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.binary_search_by(|(n, _)| n.as_ref().cmp(name)).ok().map(|at| &self.0[at].1)
    }

    /// How many parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Text> {
        self.0.iter().map(|(name, _)| name)
    }

    /// Names and values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Text, &Param)> {
        self.0.iter().map(|(name, value)| (name, value))
    }

    /// Names and values, in order, the values to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Text, &mut Param)> {
        self.0.iter_mut().map(|(name, value)| (&*name, value))
    }
}

/// As a map would be collected: sorted, and the last value of a name given twice kept.
impl FromIterator<(Text, Param)> for Params {
    fn from_iter<I: IntoIterator<Item = (Text, Param)>>(pairs: I) -> Params {
        let mut params = Params::default();
        for (name, value) in pairs {
            params.insert(name, value);
        }
        params
    }
}

impl Index<&str> for Params {
    type Output = Param;

    fn index(&self, name: &str) -> &Param {
        self.get(name).unwrap_or_else(|| panic!("no parameter {name}"))
    }
}

/// As a JSON object, names in order.
impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn they_behave_as_a_sorted_map() {
        let pairs = [("b", 2), ("a", 1), ("c", 3), ("a", 4)].map(|(k, v)| (Text::from(k), Param::Int(v)));
        let params: Params = pairs.iter().cloned().collect();
        let map: BTreeMap<Text, Param> = pairs.iter().cloned().collect();
        assert_eq!(params.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
        assert_eq!(serde_json::to_string(&params).unwrap(), serde_json::to_string(&map).unwrap());
        assert_eq!(params.get("a"), Some(&Param::Int(4)));
        assert_eq!(params["c"], Param::Int(3));
        assert_eq!(params.get("d"), None);
        assert_eq!((params.len(), params.is_empty()), (3, false));
    }

    #[test]
    fn insert_keeps_the_order_and_replaces() {
        let mut params = Params::default();
        params.insert("z".into(), Param::Int(1));
        params.insert("m".into(), Param::Int(2));
        params.insert("z".into(), Param::Int(3));
        assert_eq!(params.keys().map(|k| k.as_ref()).collect::<Vec<_>>(), ["m", "z"]);
        assert_eq!(params["z"], Param::Int(3));
    }
}
