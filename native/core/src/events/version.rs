//! MongooseIM versions as they may be reported: their release numbers, nothing after.

/// The release numbers of comma-separated versions (a cluster in a rolling upgrade),
/// each once, in order.
pub(super) fn clean_versions(versions: &str) -> Option<String> {
    let mut clean: Vec<String> = Vec::new();
    for version in versions.split(',').filter_map(clean_version) {
        if !clean.contains(&version) {
            clean.push(version);
        }
    }
    (!clean.is_empty()).then(|| clean.join(","))
}

/// The release number at the start of a version (`6.8.0` of `6.8.0-12-gabc123` or of
/// `6.3.0-acme-prod`): suffixes of custom builds can name their owner, so they stay here.
fn clean_version(version: &str) -> Option<String> {
    let digits = version.strip_prefix('v').unwrap_or(version);
    let end = digits.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(digits.len());
    let number = digits[..end].trim_end_matches('.');
    let parts: Vec<&str> = number.split('.').collect();
    (!number.is_empty() && parts.len() <= 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 6))
        .then(|| number.to_owned())
}

/// The major and minor number of a MongooseIM version.
pub(super) fn release(version: &str) -> Option<(u32, u32)> {
    let clean = clean_version(version)?;
    let mut parts = clean.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}
