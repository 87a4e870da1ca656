//! Load and persist the broker's JSON config files (RocketMQ `ConfigManager`): `topics.json`,
//! `subscriptionGroup.json` and `consumerOffset.json` under `<storePathRootDir>/config/`. Writes
//! are atomic (temporary file, sync, rename, sync the folder), so a crash leaves the old or the
//! new content, never a mix.

use std::path::{Path, PathBuf};

use protocol::body::{fastjson, JsonStyle};
use rt::disk::Disk;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{BrokerError, Result};

/// Folder of the config files, relative to the store root.
pub const CONFIG_DIR: &str = "config";

/// The path of a config file under the store root.
pub fn config_path(name: &str) -> PathBuf {
    Path::new(CONFIG_DIR).join(name)
}

/// Reads and parses a config file; `None` if it does not exist yet. fastjson's unquoted numeric
/// keys (as a Java broker writes `consumerOffset.json`) are accepted.
pub fn load_json<T: DeserializeOwned>(disk: &dyn Disk, path: &Path) -> Result<Option<T>> {
    let bytes = rt::disk::read_file(disk, path).map_err(|source| BrokerError::Io {
        op: "read",
        path: path.to_owned(),
        source,
    })?;
    match bytes {
        None => Ok(None),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Some(b) => fastjson::parse(&b)
            .map(Some)
            .map_err(|e| BrokerError::CorruptFile { path: path.to_owned(), reason: e.to_string() }),
    }
}

/// Serializes `value` and replaces the file atomically.
pub fn persist_json<T: Serialize + ?Sized>(disk: &dyn Disk, path: &Path, value: &T) -> Result<()> {
    let json = fastjson::to_json(value, JsonStyle::Legacy)?;
    rt::disk::write_file_atomic(disk, path, &json).map_err(|source| BrokerError::Io {
        op: "write",
        path: path.to_owned(),
        source,
    })
}
