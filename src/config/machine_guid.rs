//! The machine GUID of this node (health-api-export.md §D.8).
//!
//! Owns: `<lib dir>/registry/netdata.public.unique.id`. Invariants: the returned GUID is
//! always the 36-character lower-case `8-4-4-4-12` form; the file holds exactly those 36
//! bytes (no newline) with mode 0644; an existing valid file is reused unchanged, so the
//! identity survives restarts; a missing, short, invalid or blacklisted file is replaced
//! by a new time-based (v1) UUID with a random node id.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::values::is_guid;

/// GUIDs that were published by accident in images and must never be used.
const BLACKLIST: [&str; 2] = ["8a795b0c-2311-11e6-8563-000c295076a6", "4aed1458-1c3e-11e6-a53f-000c290fc8f5"];

/// Path of the GUID file inside `lib_dir`.
pub fn machine_guid_path(lib_dir: &Path) -> PathBuf {
    lib_dir.join("registry").join("netdata.public.unique.id")
}

/// Read the GUID from `<lib_dir>/registry/netdata.public.unique.id`, or create a new one
/// there (creating the directories, mode 0770 for `registry`).
pub fn load_or_create_machine_guid(lib_dir: &Path) -> Result<String, ConfigError> {
    let path = machine_guid_path(lib_dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            if let Some(guid) = parse_guid_file(&bytes) {
                return Ok(guid);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(ConfigError::Read { path, source }),
    }
    let guid = new_guid();
    write_guid(&path, &guid)?;
    Ok(guid)
}

/// The GUID in the first 36 bytes of the file, lower-cased, unless invalid or
/// blacklisted.
fn parse_guid_file(bytes: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(bytes.get(..36)?).ok()?;
    if !is_guid(head) {
        return None;
    }
    let guid = head.to_ascii_lowercase();
    (!BLACKLIST.contains(&guid.as_str())).then_some(guid)
}

/// A new time-based (v1) UUID with a random node id.
fn new_guid() -> String {
    let random = uuid::Uuid::new_v4();
    let mut node = [0u8; 6];
    node.copy_from_slice(&random.as_bytes()[..6]);
    // Multicast bit set: marks the node id as random rather than a MAC address.
    node[0] |= 0x01;
    uuid::Uuid::now_v1(&node).hyphenated().to_string()
}

fn write_guid(path: &Path, guid: &str) -> Result<(), ConfigError> {
    let werr = |source| ConfigError::Write { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o770).create(dir).map_err(werr)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(path).map_err(werr)?;
    // `mode` only applies on creation; an existing (invalid) file gets it here.
    file.set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(werr)?;
    file.write_all(guid.as_bytes()).map_err(werr)?;
    file.sync_all().map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let unique = uuid::Uuid::new_v4().simple().to_string();
            let p = std::env::temp_dir().join(format!("strata-guid-{tag}-{unique}"));
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn load(dir: &Path) -> String {
        match load_or_create_machine_guid(dir) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn creates_then_reuses() {
        let t = TempDir::new("create");
        let lib = t.0.join("lib");
        let g = load(&lib);
        assert!(is_guid(&g), "{g}");
        assert_eq!(g, g.to_ascii_lowercase());
        let parsed = uuid::Uuid::parse_str(&g).ok();
        assert_eq!(parsed.map(|u| u.get_version_num()), Some(1));
        let path = machine_guid_path(&lib);
        assert_eq!(std::fs::read(&path).ok(), Some(g.as_bytes().to_vec()));
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode, Some(0o644));
        assert_eq!(load(&lib), g);
        let other = TempDir::new("create2");
        assert_ne!(load(&other.0), g);
    }

    #[test]
    fn normalises_and_reads_only_36_bytes() {
        let t = TempDir::new("upper");
        let path = machine_guid_path(&t.0);
        std::fs::create_dir_all(path.parent().unwrap_or(&t.0)).ok();
        std::fs::write(&path, "ABCDEF01-2345-6789-ABCD-EF0123456789\ntrailing").ok();
        assert_eq!(load(&t.0), "abcdef01-2345-6789-abcd-ef0123456789");
        // Reused, not rewritten.
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk.ends_with("trailing"));
    }

    #[test]
    fn replaces_invalid_short_and_blacklisted() {
        for content in
            ["not a guid at all, but long enough to be read", "1234", "", "8a795b0c-2311-11e6-8563-000c295076a6"]
        {
            let t = TempDir::new("invalid");
            let path = machine_guid_path(&t.0);
            std::fs::create_dir_all(path.parent().unwrap_or(&t.0)).ok();
            std::fs::write(&path, content).ok();
            let g = load(&t.0);
            assert!(is_guid(&g) && g != content, "{content:?} → {g}");
            assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some(g.as_str()));
        }
    }

    #[test]
    fn unwritable_lib_dir_is_an_error_naming_the_file() {
        let t = TempDir::new("ro");
        std::fs::write(&t.0, "a file where the lib dir should be").ok();
        let e = load_or_create_machine_guid(&t.0.join("lib"));
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("netdata.public.unique.id"), "{msg}");
        let _ = std::fs::remove_file(&t.0);
    }
}
