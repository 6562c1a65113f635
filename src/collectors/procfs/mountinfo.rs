//! `/proc/self/mountinfo`: which mount point a block device is mounted on (the family
//! of Netdata's disk charts).
//!
//! Owns: [`parse`] (pure, never panics) and [`find`]. Netdata's rules kept: a mount
//! point listed twice keeps its first line; paths are octal-decoded (`\040` → space); a
//! device matches a line by major:minor and by the base name of the mount source; the
//! first matching line wins.

use super::text::{u64_of, word_vec};

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub major: u64,
    pub minor: u64,
    pub mount_point: String,
    /// Base name of the mount source (`vda` for `/dev/vda`), when the line has one.
    pub source_name: Option<String>,
}

/// `\ooo` octal escapes decoded (as the kernel writes spaces, tabs, newlines and `\`).
pub fn decode_octal(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 3 < s.len() && s[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let v = (s[i + 1] - b'0') as u32 * 64 + (s[i + 2] - b'0') as u32 * 8 + (s[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the file's contents.
pub fn parse(bytes: &[u8]) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        let w = word_vec(line, b" \t");
        if w.len() < 5 {
            continue;
        }
        let Some(colon) = w[2].iter().position(|&b| b == b':') else { continue };
        let (major, minor) = (u64_of(&w[2][..colon]), u64_of(&w[2][colon + 1..]));
        let mount_point = decode_octal(w[4]);
        if out.iter().any(|m| m.mount_point == mount_point) {
            continue;
        }
        let source_name = w.iter().skip(6).position(|x| *x == b"-").and_then(|p| w.get(6 + p + 2)).map(|src| {
            let src = decode_octal(src);
            src.rsplit('/').next().unwrap_or_default().to_string()
        });
        out.push(Mount { major, minor, mount_point, source_name });
    }
    out
}

/// The mount of device `device` (`major:minor`).
pub fn find<'a>(mounts: &'a [Mount], major: u64, minor: u64, device: &str) -> Option<&'a Mount> {
    mounts.iter().find(|m| m.major == major && m.minor == minor && m.source_name.as_deref() == Some(device))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 254:0 /home /home rw,relatime shared:1 - ext4 /dev/vda rw
41 27 8:1 / /mnt/my\\040disk rw - ext4 /dev/sdb1 rw
42 27 8:1 / /mnt/my\\040disk rw - ext4 /dev/sdb9 rw
";

    #[test]
    fn finds_mount_points() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 4, "duplicate mount point dropped");
        assert_eq!(find(&m, 254, 0, "vda").map(|m| m.mount_point.as_str()), Some("/"));
        assert_eq!(find(&m, 8, 1, "sdb1").map(|m| m.mount_point.as_str()), Some("/mnt/my disk"));
        assert_eq!(find(&m, 254, 0, "vdb"), None, "the source name must match too");
        assert_eq!(m[2].source_name.as_deref(), Some("vda"), "optional fields before the separator");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse(b"1 2 3\nx y nocolon / /a - t s o\n").is_empty());
        assert_eq!(parse(b"1 2 8:1 / /a rw\n")[0].source_name, None);
        assert_eq!(decode_octal(b"a\\04"), "a\\04");
        assert_eq!(decode_octal(b"\\134x"), "\\x");
    }
}
