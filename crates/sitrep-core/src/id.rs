//! id: the typed names of alerts and incidents. The partition number is part of every id
//! (`A3-17`, `INC3-5`), so ids from different partitions never collide; these two types are
//! the only place that writes or reads that format.

use std::fmt;
use std::str::FromStr;

/// `A{partition}-{number}`: an alert, numbered in creation order within its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertId {
    pub partition: u32,
    pub number: u64,
}

/// `INC{partition}-{number}`: an incident, numbered in opening order within its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentId {
    pub partition: u32,
    pub number: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not {expected}")]
pub struct IdError {
    text: String,
    expected: &'static str,
}

fn parse(s: &str, prefix: &str, expected: &'static str) -> Result<(u32, u64), IdError> {
    let err = || IdError {
        text: s.chars().take(64).collect(),
        expected,
    };
    let (p, n) = s
        .strip_prefix(prefix)
        .and_then(|r| r.split_once('-'))
        .ok_or_else(err)?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(p) || !digits(n) {
        return Err(err());
    }
    Ok((p.parse().map_err(|_| err())?, n.parse().map_err(|_| err())?))
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A{}-{}", self.partition, self.number)
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INC{}-{}", self.partition, self.number)
    }
}

// An id equals its text, so that `view.id == "A0-3"` reads as it should.
macro_rules! eq_text {
    ($t:ty) => {
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                other.parse::<$t>().is_ok_and(|o| o == *self)
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                *self == **other
            }
        }

        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                *self == **other
            }
        }
    };
}

eq_text!(AlertId);
eq_text!(IncidentId);

impl FromStr for AlertId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<AlertId, IdError> {
        let (partition, number) = parse(s, "A", "an alert id (A{partition}-{number})")?;
        Ok(AlertId { partition, number })
    }
}

impl FromStr for IncidentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<IncidentId, IdError> {
        let (partition, number) = parse(s, "INC", "an incident id (INC{partition}-{number})")?;
        Ok(IncidentId { partition, number })
    }
}

macro_rules! serde_as_string {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_string!(AlertId);
serde_as_string!(IncidentId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let a = AlertId {
            partition: 3,
            number: 17,
        };
        assert_eq!(a.to_string(), "A3-17");
        assert_eq!("A3-17".parse::<AlertId>(), Ok(a));
        let i = IncidentId {
            partition: 0,
            number: 5,
        };
        assert_eq!(i.to_string(), "INC0-5");
        assert_eq!("INC0-5".parse::<IncidentId>(), Ok(i));
        assert_eq!(serde_json::to_string(&i).unwrap(), "\"INC0-5\"");
        assert_eq!(serde_json::from_str::<AlertId>("\"A3-17\"").unwrap(), a);
        assert!(serde_json::from_str::<AlertId>("\"B3-17\"").is_err());
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "", "A", "A3", "A-1", "A3-", "A+3-1", "A3-1x", "INC3-1", "a3-1", "A3--1",
        ] {
            assert!(bad.parse::<AlertId>().is_err(), "{bad}");
        }
        for bad in ["INC", "INC1", "A1-2", "INC1-2-3", "INC 1-2"] {
            assert!(bad.parse::<IncidentId>().is_err(), "{bad}");
        }
        let e = "INCx".parse::<IncidentId>().unwrap_err().to_string();
        assert!(e.contains("incident id"), "{e}");
    }
}
