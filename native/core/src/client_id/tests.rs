use super::*;
use crate::atomic_file::tests::{fifo, mode_of, temp_dir, within_5s};
use std::os::unix::fs::symlink;

#[test]
fn an_id_is_made_once_and_then_kept() {
    let dir = temp_dir("cid");
    let path = dir.join(FILE_NAME);
    let first = load_or_create(&path);
    assert_eq!(first.warning, None);
    assert_eq!(uuid::Uuid::parse_str(&first.identity.id).unwrap().get_version_num(), 4);
    assert!(first.identity.created_ms > 1_700_000_000_000);
    assert_eq!(load_or_create(&path), first);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_malformed_file_is_replaced_with_a_warning() {
    let dir = temp_dir("cid-bad");
    let path = dir.join(FILE_NAME);
    fs::write(&path, "not-a-uuid").unwrap();
    let loaded = load_or_create(&path);
    assert!(loaded.warning.unwrap().contains("not a UUID v4"));
    assert_eq!(fs::read_to_string(&path).unwrap().lines().next(), Some(loaded.identity.id.as_str()));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_place_still_gives_an_id() {
    let dir = temp_dir("cid-ro");
    fs::write(dir.join("file"), "").unwrap();
    let loaded = load_or_create(&dir.join("file").join(FILE_NAME));
    assert!(uuid::Uuid::parse_str(&loaded.identity.id).is_ok());
    assert!(loaded.warning.unwrap().contains("cannot save"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_first_version_file_is_read_and_an_adopted_identity_kept() {
    let dir = temp_dir("cid-v1");
    let path = dir.join(FILE_NAME);
    let id = "0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e";
    fs::write(&path, format!("{id}\n")).unwrap();
    assert_eq!(load_or_create(&path).identity, Identity { id: id.into(), created_ms: 0 });
    let adopted = Identity::checked("1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b", 42).unwrap();
    save(&path, &adopted).unwrap();
    assert_eq!(load_or_create(&path).identity, adopted);
    assert_eq!(Identity::checked("not-a-uuid", 1), None);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn forgetting_makes_the_next_id_new() {
    let dir = temp_dir("cid-forget");
    let path = dir.join(FILE_NAME);
    let first = load_or_create(&path).identity;
    forget(&path).unwrap();
    forget(&path).unwrap();
    assert_ne!(load_or_create(&path).identity, first);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_oldest_identity_is_the_smallest() {
    let older = Identity { created_ms: 1, id: "b".into() };
    let newer = Identity { created_ms: 2, id: "a".into() };
    assert!(older < newer);
}

#[test]
fn well_formed_ids_are_short_plain_ascii() {
    assert!(is_well_formed("802c323a-525d-497d-bb33-d00cbc2bef8e"));
    assert!(is_well_formed("ephemeral-802c323a-525d-497d-bb33-d00cbc2bef8e"));
    assert!(is_well_formed(&"a".repeat(MAX_LEN)));
    for bad in ["", "has space", "dot.ted", "ünïcode", &"a".repeat(MAX_LEN + 1)] {
        assert!(!is_well_formed(bad), "{bad:?}");
    }
}

#[test]
fn the_file_sits_beside_the_report() {
    assert_eq!(
        path_beside(Path::new("/var/log/mim/r.json")),
        PathBuf::from("/var/log/mim/system_metrics_client_id")
    );
}

#[test]
fn the_file_is_private_to_the_service() {
    let dir = temp_dir("cid-mode");
    let path = dir.join("made").join(FILE_NAME);
    load_or_create(&path);
    assert_eq!(mode_of(&path), atomic_file::PRIVATE_MODE);
    assert_eq!(mode_of(&dir.join("made")), atomic_file::DIR_MODE);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_planted_link_is_neither_read_nor_written_through() {
    let dir = temp_dir("cid-link");
    let victim = dir.join("victim");
    // A valid id in the victim: it must not be adopted through the link either.
    let planted = "0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e";
    fs::write(&victim, format!("{planted}\n1\n")).unwrap();
    let path = dir.join(FILE_NAME);
    symlink(&victim, &path).unwrap();
    let loaded = load_or_create(&path);
    assert_ne!(loaded.identity.id, planted);
    let warning = loaded.warning.unwrap();
    assert!(
        warning.starts_with(&format!(
            "cannot read client id file {}: it is a symbolic link, which is never followed",
            path.display()
        )),
        "{warning}"
    );
    assert!(
        warning.contains(&format!("cannot save client id file {}: it is a symbolic link", path.display()))
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), format!("{planted}\n1\n"));
    let adopted = Identity::checked("1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b", 42).unwrap();
    assert!(save(&path, &adopted).unwrap_err().contains("symbolic link"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), format!("{planted}\n1\n"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_fifo_in_its_place_never_blocks() {
    let dir = temp_dir("cid-fifo");
    let path = dir.join(FILE_NAME);
    fifo(&path);
    let loaded = {
        let path = path.clone();
        within_5s(move || load_or_create(&path))
    };
    assert!(uuid::Uuid::parse_str(&loaded.identity.id).is_ok());
    let warning = loaded.warning.unwrap();
    assert!(
        warning.starts_with(&format!(
            "cannot read client id file {}: it is a FIFO, not a regular file",
            path.display()
        )),
        "{warning}"
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_oversized_file_is_not_read() {
    let dir = temp_dir("cid-big");
    let path = dir.join(FILE_NAME);
    let id = "0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e";
    fs::write(&path, format!("{id}\n1\n{}", " ".repeat(MAX_FILE_BYTES as usize))).unwrap();
    let loaded = load_or_create(&path);
    assert_ne!(loaded.identity.id, id);
    assert_eq!(
        loaded.warning.unwrap(),
        format!(
            "cannot read client id file {}: it is larger than 4 KiB, the most that is read of it",
            path.display()
        )
    );
    // It was replaced by the new id, which is what is read next.
    assert_eq!(load_or_create(&path).identity, loaded.identity);
    fs::remove_dir_all(dir).unwrap();
}
