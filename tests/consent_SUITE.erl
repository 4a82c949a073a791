%% @doc The README's consent table, checked on what is actually logged
%% and sent. MongooseIM's own tests find the notices by the words "MongooseIM docs".
-module(consent_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [service_absent_logs_the_opted_out_notice,
     report_false_logs_nothing_and_reports_nothing,
     no_report_key_logs_one_notice_and_reports,
     report_true_logs_nothing_and_reports,
     a_restart_logs_the_notice_once_more].

init_per_suite(Config) ->
    msm_test:fast_retries(),
    msm_test:test_environment(),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_testcase(_Case, Config) ->
    %% A clean slate: no service, not configured.
    ok = ?SERVICE:stop(),
    msm_log_capture:start(),
    msm_test:init_case(Config, "consent").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

options(Config, Extra) ->
    maps:remove(report, msm_test:options(?config(collector, Config), ?config(dir, Config),
                                         maps:merge(#{initial_report => 0}, Extra))).

%% The notices (warnings that mention "MongooseIM docs"), after checking that nothing
%% else at notice level or above was logged: "nothing" in the table means nothing.
docs_warnings() ->
    Events = msm_log_capture:collected(),
    Loud = [E || {Level, _} = E <- Events, logger:compare_levels(Level, notice) =/= lt],
    Notices = [{What, Report} || {warning, #{what := What, text := Text} = Report} <- Loud,
                                 msm_test:contains(Text, "MongooseIM docs")],
    ?assertEqual(length(Loud), length(Notices), Loud),
    Notices.

%% The reports the service sent on its own (the first is due at once). report_now/0
%% answers when no cycle is under way any more: whatever the first one logged is logged.
reports(Config) ->
    Received = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 1),
    {ok, _} = ?SERVICE:report_now(),
    length(Received).

service_absent_logs_the_opted_out_notice(_Config) ->
    ?assertEqual(ignore, ?SERVICE:verify_if_configured()),
    [{system_metrics_disabled, #{text := Text}}] = docs_warnings(),
    ?assert(msm_test:contains(Text, "[services.service_mongoose_system_metrics]")),
    ?assert(msm_test:contains(Text, "report = false")),
    ?assert(msm_test:contains(Text, "doc/privacy.md")).

report_false_logs_nothing_and_reports_nothing(Config) ->
    ?assertEqual(ignore, ?SERVICE:start(maps:put(report, false, options(Config, #{})))),
    ?assertEqual(ok, ?SERVICE:verify_if_configured()),
    %% Nothing must happen, so there is nothing to wait for: a moment for a stray report.
    timer:sleep(300),
    ?assertEqual([], docs_warnings()),
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))).

no_report_key_logs_one_notice_and_reports(Config) ->
    {ok, _} = ?SERVICE:start(options(Config, #{})),
    ?assertEqual(ok, ?SERVICE:verify_if_configured()),
    Reports = reports(Config),
    [{report_transparency, #{text := Text, report_filename := File}}] = docs_warnings(),
    Expected = filename:join(?config(dir, Config), "system_metrics_report.json"),
    ?assertEqual(list_to_binary(Expected), File),
    ?assert(msm_test:contains(Text, Expected)),
    ?assert(msm_test:contains(Text, "report = false")),
    ?assert(msm_test:contains(Text, "doc/privacy.md")),
    ?assert(Reports >= 1).

report_true_logs_nothing_and_reports(Config) ->
    {ok, _} = ?SERVICE:start(maps:put(report, true, options(Config, #{}))),
    Reports = reports(Config),
    ?assertEqual([], docs_warnings()),
    ?assert(Reports >= 1).

a_restart_logs_the_notice_once_more(Config) ->
    {ok, _} = ?SERVICE:start(options(Config, #{})),
    [{report_transparency, _}] = docs_warnings(),
    ok = ?SERVICE:stop(),
    {ok, _} = ?SERVICE:start(options(Config, #{})),
    [{report_transparency, _}] = docs_warnings().
