%% @doc What the operator is told through OTP `logger': the consent notices of the
%% README's consent table (warning level, so they show even where the level is set to
%% warning) and the service's other events. All are structured reports with a `what' key.
-module(mongoose_system_metrics_notice).

-export([report_transparency/2, system_metrics_disabled/0, option_warning/1,
         transparency_text/2, disabled_text/0, format_report/1, first_time/1,
         failure/1]).

-include("mongoose_system_metrics_log.hrl").

-define(POLICY, "https://esl.github.io/MongooseDocs/latest/operation-and-maintenance/System-Metrics-Privacy-Policy/").

%% @doc The notice for a service that runs without an explicit `report' option, in the
%% `on' or the `local' mode.
-spec report_transparency(on | local, binary()) -> ok.
report_transparency(Mode, ReportFile) ->
    ?MSM_LOG(warning, #{what => report_transparency,
              text => transparency_text(Mode, ReportFile),
              report_filename => ReportFile,
              mode => Mode}).

%% @doc The notice for a node where the service is not configured at all.
-spec system_metrics_disabled() -> ok.
system_metrics_disabled() ->
    ?MSM_LOG(warning, #{what => system_metrics_disabled, text => disabled_text()}).

%% @doc A remark about the options that were accepted, e.g. a misspelt alias.
-spec option_warning(binary()) -> ok.
option_warning(Text) ->
    ?MSM_LOG(warning, #{what => system_metrics_option_warning, text => Text}).

-spec transparency_text(on | local, binary()) -> binary().
transparency_text(local, ReportFile) ->
    text(["This MongooseIM node builds an anonymous usage report (which features are in use, "
     "never who uses them or what they say) and keeps it in ", ReportFile, "; in the local "
     "mode nothing is sent. What the report holds is in the privacy policy:\n"
     "- MongooseIM docs - ", ?POLICY, "\n"
     "- doc/privacy.md of mongoose_system_metrics\n"
     "To stop building it set report = false in [services.service_mongoose_system_metrics]."]);
transparency_text(on, ReportFile) ->
    text(["This MongooseIM node sends an anonymous usage report (which features are in use, "
     "never who uses them or what they say) so that its maintainers know where to focus. "
     "What is sent, and how to see, redirect or switch it off, is in the privacy policy:\n"
     "- MongooseIM docs - ", ?POLICY, "\n"
     "- doc/privacy.md of mongoose_system_metrics\n"
     "Each report is also written to ", ReportFile, "\n"
     "To keep reporting without this notice set report = true, and to stop reporting set "
     "report = false, in [services.service_mongoose_system_metrics]."]).

-spec disabled_text() -> binary().
disabled_text() ->
    text(["The anonymous usage report of MongooseIM is off: service_mongoose_system_metrics is "
     "not in the configuration. The report would tell the maintainers which features are "
     "used, never who uses them. To keep it off without this notice, add to your config file:\n"
     "  [services.service_mongoose_system_metrics]\n"
     "    report = false\n"
     "Privacy policy: MongooseIM docs - ", ?POLICY, " and doc/privacy.md of mongoose_system_metrics."]).

%% @doc `report_cb' of our log events: the text first, then the other fields.
-spec format_report(logger:report()) -> {io:format(), [term()]}.
format_report(#{text := Text} = Report) ->
    Rest = maps:without([text], Report),
    {"~ts ~0p", [Text, Rest]};
format_report(Report) ->
    {"~0p", [Report]}.

%% @doc True the first time this exact report is asked about on this node (see
%% `?MSM_LOG_ONCE'): a failure that repeats every cycle is logged once.
-spec first_time(logger:report()) -> boolean().
first_time(Report) ->
    %% Keyed without the text, which may vary: one line per kind of event and subject.
    Key = {?MODULE, logged, maps:without([text], Report)},
    case persistent_term:get(Key, false) of
        true -> false;
        false -> persistent_term:put(Key, true), true
    end.

%% @doc What of a crash reason may be logged: its atom or tag, else its type, never a
%% value (a fact source's values may be private).
-spec failure(term()) -> atom().
failure(Reason) when is_atom(Reason) -> Reason;
failure(Reason) when is_tuple(Reason), tuple_size(Reason) > 0, is_atom(element(1, Reason)) ->
    element(1, Reason);
failure(Reason) when is_list(Reason) -> list;
failure(Reason) when is_tuple(Reason) -> tuple;
failure(Reason) when is_binary(Reason) -> binary;
failure(Reason) when is_integer(Reason) -> integer;
failure(_) -> other.

text(Chardata) ->
    unicode:characters_to_binary(Chardata).
