//! Whether the service reports, and why: the `report` option, then the environment,
//! which can only lower sharing, never raise it.
//!
//! - `report`: absent or `true` is `on` (absent also logs the consent notice), `local`
//!   builds and writes the report but sends nothing, `false` is `off`.
//! - `MONGOOSEIM_SYSTEM_METRICS=off|local|on` caps the mode.
//! - `DO_NOT_TRACK=1` (the common convention; also `true` or `yes`) means `off`.

use std::fmt;

/// How much is shared, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// Resolves the mode: the option first, then the environment, which only lowers it.
pub fn decide(report: Report, env: &Environment) -> Decision {
    let (mut mode, mut reason) = match report {
        Report::Absent => (Mode::On, "no report option (the default)".to_owned()),
        Report::On => (Mode::On, "option report = true".to_owned()),
        Report::Local => (Mode::Local, "option report = local".to_owned()),
        Report::Off => (Mode::Off, "option report = false".to_owned()),
    };
    let mut warnings = Vec::new();
    if let Some(value) = env.mongooseim_system_metrics.as_deref().filter(|v| !v.trim().is_empty()) {
        match Mode::parse(value) {
            Some(cap) if cap < mode => {
                mode = cap;
                reason = format!("environment MONGOOSEIM_SYSTEM_METRICS={}", cap);
            }
            Some(_) => {}
            None => warnings
                .push(format!("MONGOOSEIM_SYSTEM_METRICS={value:?} is not off, local or on; it is ignored")),
        }
    }
    if let Some(value) = env.do_not_track.as_deref() {
        if matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes") && mode > Mode::Off {
            mode = Mode::Off;
            reason = format!("environment DO_NOT_TRACK={}", value.trim());
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
    fn an_unknown_value_is_ignored_with_a_warning() {
        let decision = decide(Report::On, &env(None, Some("maybe")));
        assert_eq!(decision.mode, Mode::On);
        assert!(decision.warnings[0].contains("\"maybe\" is not off, local or on"));
    }
}
