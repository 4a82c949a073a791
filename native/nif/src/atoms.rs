//! The atoms the binding returns.

rustler::atoms! {
    ok,
    error,
    null,
    invalid_option,
    unknown_option,
    invalid_options,
    invalid_fact,
    not_started,
    no_report,
    runtime_unavailable,
    mongoose_system_metrics_report,
    mongoose_system_metrics_validation,
}
