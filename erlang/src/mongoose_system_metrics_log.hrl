%% Logging of the application's events: structured reports with a `what' key, formatted
%% by `mongoose_system_metrics_notice:format_report/1', and carrying the location
%% (`mfa', `line', `file') that MongooseIM's log formats print as `at='. No `domain':
%% OTP's default handler drops events of domains it does not know, and these must reach
%% the operator.
-include_lib("kernel/include/logger.hrl").

-define(MSM_LOG(Level, Report),
        ?LOG(Level, Report, #{report_cb => fun mongoose_system_metrics_notice:format_report/1})).

%% A warning logged the first time this exact report is seen on this node.
-define(MSM_LOG_ONCE(Report),
        case mongoose_system_metrics_notice:first_time(Report) of
            true -> ?MSM_LOG(warning, Report);
            false -> ok
        end).
