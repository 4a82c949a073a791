//! Whether the service reports, and why: the `report` option, then the environment,
//! which can only lower sharing, never raise it.
//!
//! - `report`: absent or `true` is `on` (absent also logs the consent notice), `local`
//!   builds and writes the report but sends nothing, `false` is `off`.
//! - `MONGOOSEIM_SYSTEM_METRICS=off|local|on` caps the mode; any other value means `off`,
//!   with a warning: a mistyped opt-out must not leave reporting on.
//! - `DO_NOT_TRACK`: `0`, `false`, `no` and `off` change nothing; `1`, `true`, `yes` and
//!   `on` mean `off`; any other value means `off` too, with a warning.
//!
//! Values are trimmed and compared without regard to case; an empty one counts as unset.

use std::fmt;

/// How much is shared, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No process, no file, no traffic.
    Off,
    /// The report is built and written on schedule; nothing is sent.
    Local,
    /// The report is built, written and sent.
    On,
}

impl Mode {
    /// `off`, `local` or `on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Local => "local",
            Mode::On => "on",
        }
    }

    fn parse(text: &str) -> Option<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Mode::Off),
            "local" => Some(Mode::Local),
            "on" => Some(Mode::On),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the `report` option says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// No `report` key: report, and say so in the log.
    Absent,
    /// `report = true`
    On,
    /// `report = local`
    Local,
    /// `report = false`
    Off,
}

/// The environment variables the service reads, as the node sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `DO_NOT_TRACK`
    pub do_not_track: Option<String>,
    /// `MONGOOSEIM_SYSTEM_METRICS`
    pub mongooseim_system_metrics: Option<String>,
    /// `CI`: exactly `true` picks MongooseIM's CI property as the built-in destination,
    /// as MongooseIM does; it has no say in the mode.
    pub ci: Option<String>,
}

/// The mode, what decided it, and whether the consent notice is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The mode the service runs in.
    pub mode: Mode,
    /// Which option or variable decided, in words.
    pub reason: String,
    /// Whether to log the consent notice (no `report` key and something is built).
    pub notice: bool,
    /// Remarks for the log, e.g. a variable with a value it does not know.
    pub warnings: Vec<String>,
}

/// Longest variable value quoted back in a reason or a warning.
const MAX_SHOWN: usize = 20;

/// What `DO_NOT_TRACK` asks for.
enum DoNotTrack {
    No,
    Yes,
    Unrecognised,
}

fn do_not_track(value: &str) -> DoNotTrack {
    match value.to_ascii_lowercase().as_str() {
        "0" | "false" | "no" | "off" => DoNotTrack::No,
        "1" | "true" | "yes" | "on" => DoNotTrack::Yes,
        _ => DoNotTrack::Unrecognised,
    }
}

/// `NAME=value` when the value is short and plain, else `NAME has an unrecognised value`:
/// an odd value may be a pasted secret or hold control characters meant for the log.
fn named(variable: &str, value: &str) -> String {
    let plain = value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain && !value.is_empty() && value.len() <= MAX_SHOWN {
        format!("{variable}={value}")
    } else {
        format!("{variable} has an unrecognised value")
    }
}

/// The trimmed value of a variable that is set and not empty.
fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Resolves the mode: the option first, then the environment, which only lowers it.
pub fn decide(report: Report, env: &Environment) -> Decision {
    let (mut mode, mut reason) = match report {
        Report::Absent => (Mode::On, "no report option (the default)".to_owned()),
        Report::On => (Mode::On, "option report = true".to_owned()),
        Report::Local => (Mode::Local, "option report = local".to_owned()),
        Report::Off => (Mode::Off, "option report = false".to_owned()),
    };
    let mut warnings = Vec::new();
    let mut lower_to = |cap: Mode, why: String| {
        if cap < mode {
            mode = cap;
            reason = why;
        }
    };
    if let Some(value) = set(env.mongooseim_system_metrics.as_deref()) {
        match Mode::parse(value) {
            Some(cap) => lower_to(cap, format!("environment MONGOOSEIM_SYSTEM_METRICS={cap}")),
            None => {
                let named = named("MONGOOSEIM_SYSTEM_METRICS", value);
                lower_to(Mode::Off, format!("environment {named} (not on, local or off, so off)"));
                warnings.push(format!(
                    "{named} (not on, local or off), so reporting is off; \
                     set it to on, local or off, or unset it"
                ));
            }
        }
    }
    if let Some(value) = set(env.do_not_track.as_deref()) {
        match do_not_track(value) {
            DoNotTrack::No => {}
            DoNotTrack::Yes => lower_to(Mode::Off, format!("environment {}", named("DO_NOT_TRACK", value))),
            DoNotTrack::Unrecognised => {
                let named = named("DO_NOT_TRACK", value);
                lower_to(Mode::Off, format!("environment {named} (not 0 or 1, so taken as 1)"));
                warnings.push(format!(
                    "{named} (not 0 or 1), so it is taken as 1 and reporting is off; \
                     set it to 0 or 1, or unset it"
                ));
            }
        }
    }
    Decision { mode, reason, notice: report == Report::Absent && mode > Mode::Off, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dnt: Option<&str>, msm: Option<&str>) -> Environment {
        Environment {
            do_not_track: dnt.map(Into::into),
            mongooseim_system_metrics: msm.map(Into::into),
            ci: None,
        }
    }

    /// (report option, DO_NOT_TRACK, MONGOOSEIM_SYSTEM_METRICS, mode, reason, notice)
    type Row = (Report, Option<&'static str>, Option<&'static str>, Mode, &'static str, bool);

    #[test]
    fn the_environment_only_ever_lowers_sharing() {
        use Report::*;
        let rows: &[Row] = &[
            (Absent, None, None, Mode::On, "no report option (the default)", true),
            (On, None, None, Mode::On, "option report = true", false),
            (Local, None, None, Mode::Local, "option report = local", false),
            (Off, None, None, Mode::Off, "option report = false", false),
            (Absent, None, Some("local"), Mode::Local, "environment MONGOOSEIM_SYSTEM_METRICS=local", true),
            (On, None, Some("off"), Mode::Off, "environment MONGOOSEIM_SYSTEM_METRICS=off", false),
            (Off, None, Some("on"), Mode::Off, "option report = false", false),
            (Local, None, Some("ON"), Mode::Local, "option report = local", false),
            (On, Some("1"), None, Mode::Off, "environment DO_NOT_TRACK=1", false),
            (Absent, Some("true"), Some("local"), Mode::Off, "environment DO_NOT_TRACK=true", false),
            (On, Some("0"), None, Mode::On, "option report = true", false),
            (On, Some(""), Some(""), Mode::On, "option report = true", false),
        ];
        for (report, dnt, msm, mode, reason, notice) in rows {
            let decision = decide(*report, &env(*dnt, *msm));
            assert_eq!(
                (decision.mode, decision.reason.as_str(), decision.notice),
                (*mode, *reason, *notice),
                "{report:?} DO_NOT_TRACK={dnt:?} MONGOOSEIM_SYSTEM_METRICS={msm:?}"
            );
            assert!(decision.warnings.is_empty());
        }
    }

    #[test]
    fn any_other_mongooseim_system_metrics_value_turns_reporting_off() {
        for value in ["false", "no", "0", "disabled", "none", "FALSE", " off-ish ", "1", "true", "yes"] {
            for report in [Report::Absent, Report::On, Report::Local] {
                let decision = decide(report, &env(None, Some(value)));
                let shown = value.trim();
                assert_eq!(decision.mode, Mode::Off, "MONGOOSEIM_SYSTEM_METRICS={value:?} with {report:?}");
                assert_eq!(
                    decision.reason,
                    format!("environment MONGOOSEIM_SYSTEM_METRICS={shown} (not on, local or off, so off)")
                );
                assert!(!decision.notice);
                assert_eq!(
                    decision.warnings,
                    [format!(
                        "MONGOOSEIM_SYSTEM_METRICS={shown} (not on, local or off), so reporting is off; \
                         set it to on, local or off, or unset it"
                    )]
                );
            }
        }
    }

    #[test]
    fn mongooseim_system_metrics_is_trimmed_and_case_blind_and_empty_is_unset() {
        let rows = [
            (" Off ", Mode::Off, "environment MONGOOSEIM_SYSTEM_METRICS=off"),
            ("LOCAL", Mode::Local, "environment MONGOOSEIM_SYSTEM_METRICS=local"),
            ("\tlocal\n", Mode::Local, "environment MONGOOSEIM_SYSTEM_METRICS=local"),
            ("On", Mode::On, "option report = true"),
            ("", Mode::On, "option report = true"),
            ("  ", Mode::On, "option report = true"),
        ];
        for (value, mode, reason) in rows {
            let decision = decide(Report::On, &env(None, Some(value)));
            assert_eq!((decision.mode, decision.reason.as_str()), (mode, reason), "{value:?}");
            assert!(decision.warnings.is_empty(), "{value:?}");
        }
    }

    #[test]
    fn do_not_track_spellings() {
        for value in ["0", "false", "FALSE", "no", "No", "off", "OFF", " 0 ", "", "   "] {
            let decision = decide(Report::On, &env(Some(value), None));
            assert_eq!(
                (decision.mode, decision.reason.as_str()),
                (Mode::On, "option report = true"),
                "{value:?}"
            );
            assert!(decision.warnings.is_empty(), "{value:?}");
        }
        for value in ["1", "true", "TRUE", "yes", "Yes", "on", "ON", " 1\n"] {
            let decision = decide(Report::Local, &env(Some(value), None));
            assert_eq!(decision.mode, Mode::Off, "{value:?}");
            assert_eq!(decision.reason, format!("environment DO_NOT_TRACK={}", value.trim()));
            assert!(decision.warnings.is_empty(), "{value:?}");
        }
        for value in ["y", "Y", "2", "-1", "enabled", "maybe"] {
            let decision = decide(Report::Absent, &env(Some(value), None));
            assert_eq!(decision.mode, Mode::Off, "{value:?}");
            assert!(!decision.notice);
            assert_eq!(
                decision.reason,
                format!("environment DO_NOT_TRACK={value} (not 0 or 1, so taken as 1)")
            );
            assert_eq!(
                decision.warnings,
                [format!(
                    "DO_NOT_TRACK={value} (not 0 or 1), so it is taken as 1 and reporting is off; \
                     set it to 0 or 1, or unset it"
                )]
            );
        }
    }

    #[test]
    fn odd_values_are_not_quoted_back() {
        let odd = [
            "x".repeat(21),
            "sk_live_0123456789abcdefghij".to_owned(),
            "off please".to_owned(),
            "no\u{1b}[31m".to_owned(),
            "wyłączone".to_owned(),
            "a=b".to_owned(),
        ];
        for value in &odd {
            let msm = decide(Report::On, &env(None, Some(value)));
            assert_eq!(msm.mode, Mode::Off);
            assert_eq!(
                msm.reason,
                "environment MONGOOSEIM_SYSTEM_METRICS has an unrecognised value (not on, local or off, so off)"
            );
            assert!(msm.warnings[0].starts_with("MONGOOSEIM_SYSTEM_METRICS has an unrecognised value"));
            let dnt = decide(Report::On, &env(Some(value), None));
            assert_eq!(dnt.mode, Mode::Off);
            assert_eq!(
                dnt.reason,
                "environment DO_NOT_TRACK has an unrecognised value (not 0 or 1, so taken as 1)"
            );
            assert!(dnt.warnings[0].starts_with("DO_NOT_TRACK has an unrecognised value"));
            for text in msm.warnings.iter().chain(&dnt.warnings).chain([&msm.reason, &dnt.reason]) {
                assert!(!text.contains(value.trim()), "{text}");
            }
        }
        // Twenty plain characters are still shown.
        let twenty = "A".repeat(20);
        assert!(decide(Report::On, &env(None, Some(&twenty))).reason.contains(&twenty));
    }

    #[test]
    fn the_environment_never_raises_sharing_and_the_first_opt_out_is_named() {
        let off = decide(Report::Off, &env(Some("2"), Some("maybe")));
        assert_eq!((off.mode, off.reason.as_str()), (Mode::Off, "option report = false"));
        assert_eq!(off.warnings.len(), 2, "a meaningless value is still worth a word");
        let both = decide(Report::On, &env(Some("1"), Some("nope")));
        assert_eq!(
            (both.mode, both.reason.as_str()),
            (Mode::Off, "environment MONGOOSEIM_SYSTEM_METRICS=nope (not on, local or off, so off)")
        );
        let local_then_dnt = decide(Report::On, &env(Some("yes"), Some("local")));
        assert_eq!(
            (local_then_dnt.mode, local_then_dnt.reason.as_str()),
            (Mode::Off, "environment DO_NOT_TRACK=yes")
        );
    }
}
