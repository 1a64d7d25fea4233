//! The documentation holds: every relative link of README.md and docs/*.md reaches a file (and its
//! heading, when it names one), and the README's key table is the default keymap's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The targets of `[text](target)` links (inline code spans left out).
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let outside_code: String =
            line.split('`').enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, s)| s).collect::<Vec<_>>().join(" ");
        let mut rest = outside_code.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchor of a heading: lowercase, spaces to `-`, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    prose(text).iter().filter(|l| l.starts_with('#')).map(|l| slug(l.trim_start_matches('#'))).collect()
}

#[test]
fn every_relative_link_of_the_readme_and_docs_reaches_its_file_and_heading() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            let shown = format!("{}: {link}", page.strip_prefix(root()).unwrap().display());
            if !target.exists() {
                broken.push(format!("{shown} (no such file)"));
            } else if !anchor.is_empty() {
                let target_text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&target_text).iter().any(|a| a == anchor) {
                    broken.push(format!("{shown} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 40, "only {checked} links found: is the link reader broken?");
}

#[test]
fn the_link_reader_sees_links_and_headings_as_github_does() {
    assert_eq!(links("see [a](docs/a.md#b) and `[x](y)`\n```\n[c](d)\n```\n[e](f)"), ["docs/a.md#b", "f"]);
    assert_eq!(slug(" Automatic bans (`[[respond]]`)"), "automatic-bans-respond");
    assert!(!Path::new(&root().join("docs/no-such-page.md")).exists());
}

/// The bindings of keymaps/default.toml: action → its keys in order (a sequence as `g g`).
fn default_keymap() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(root().join("keymaps/default.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for bind in doc["bind"].as_array().unwrap() {
        let on = match &bind["on"] {
            toml::Value::Array(keys) => keys.iter().map(|k| k.as_str().unwrap()).collect::<Vec<_>>().join(" "),
            key => key.as_str().unwrap().to_string(),
        };
        bindings.entry(bind["run"].as_str().unwrap().to_string()).or_default().push(on);
    }
    bindings
}

#[test]
fn the_readme_key_table_is_the_default_keymap() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("<!-- keys:").expect("the key table's start marker");
    let end = readme.find("<!-- /keys -->").expect("the key table's end marker");
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in readme[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let keys: Vec<String> =
            cells[0].trim_start_matches("| ").split('`').skip(1).step_by(2).map(str::to_string).collect();
        let action = cells[1].trim_matches('`').to_string();
        assert!(table.insert(action.clone(), keys).is_none(), "{action} has two rows");
    }
    assert_eq!(table, default_keymap());
}

/// Width and height of a PNG, from its IHDR chunk; `None` when the bytes are not a PNG.
#[cfg(feature = "real-components")]
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let header = bytes.get(..24)?;
    if &header[..8] != b"\x89PNG\r\n\x1a\n" || &header[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&header[16..20]), be(&header[20..24])))
}

/// docs/screenshots/make still runs: the binary under test in tmux, the demo and a collecting
/// console, each screen rendered to a PNG of the console's size with something drawn on it.
#[cfg(feature = "real-components")]
#[test]
fn the_screenshot_script_still_makes_its_pictures() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(root().join("docs/screenshots/make"))
        .args(["--bin", super::support::BIN, "--out"])
        .arg(out.path())
        .args(["--only", "panes-dark,sources-light"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "docs/screenshots/make failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let committed = std::fs::read(root().join("docs/screenshots/panes-dark.png")).unwrap();
    for name in ["panes-dark", "sources-light"] {
        let bytes = std::fs::read(out.path().join(format!("{name}.png"))).unwrap();
        assert_eq!(png_size(&bytes), png_size(&committed), "{name}.png: the size of the committed pictures");
        // A blank screen of one colour compresses to a few KB; a drawn console does not.
        assert!(bytes.len() > 20_000, "{name}.png is {} bytes: nothing drawn?", bytes.len());
    }
}

#[test]
fn the_manual_page_of_config_example_holds_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = super::support::rampart().args(["man", "--out-dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.path().join("rampart-config-example.1")).unwrap();
    for section in rampart::config::keys::SECTIONS {
        for key in section.keys {
            assert!(page.contains(&format!("{} = ", key.name)), "{} is not in the page", key.name);
        }
    }
}
