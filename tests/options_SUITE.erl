%% @doc Options (the README's table) through the public start/1: each bad option is
%% refused with an error that names the option, the value and what was expected, in
%% both the map (TOML) and the legacy proplist shape, and a refused start leaves a
%% running service untouched.
-module(options_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [{group, map_options}, {group, proplist_options}, {group, running_service}].

groups() ->
    Cases = [bad_values_are_refused_with_clear_errors,
             unknown_options_get_a_did_you_mean,
             the_misspelt_intial_report_works_with_one_warning,
             a_bad_secret_is_never_shown,
             valid_options_start_the_service],
    [{map_options, [], Cases},
     {proplist_options, [], Cases},
     {running_service, [], [a_refused_start_leaves_the_running_service_alone,
                            a_bad_default_tracking_id_is_named]}].

init_per_group(Group, Config) ->
    [{shape, Group} | Config].

end_per_group(_Group, _Config) ->
    ok.

init_per_suite(Config) ->
    msm_test:fast_retries(),
    msm_test:test_environment(),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_testcase(_Case, Config) ->
    msm_test:init_case(Config, "options").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

shape(Config, Pairs) ->
    case proplists:get_value(shape, Config) of
        proplist_options -> Pairs;
        _ -> maps:from_list(Pairs)
    end.

%% {Option, Value, words the message must contain}
bad_values() ->
    [{report, "maybe", ["report = \"maybe\"", "boolean"]},
     {report, 1, ["report = 1", "boolean"]},
     {initial_report, -1, ["initial_report = -1", "non-negative integer", "milliseconds"]},
     {initial_report, "forever", ["initial_report = \"forever\"", "integer"]},
     {initial_report, 1.5, ["1.5", "integer"]},
     {initial_report, 4294967296, ["4294967296", "at most 4294967295"]},
     {periodic_report, 0, ["periodic_report = 0", "positive integer"]},
     {periodic_report, -5, ["periodic_report = -5", "positive"]},
     {periodic_report, <<"3h">>, ["<<\"3h\">>", "integer"]},
     {tracking_id, 42, ["tracking_id", "got an integer"]},
     {tracking_id, #{id => "G-1"}, ["secret is missing"]},
     {tracking_id, #{secret => "s"}, ["id is missing"]},
     {tracking_id, #{id => 1, secret => "s"}, ["id must be", "got an integer"]},
     {tracking_id, "G-12345", ["needs its API secret"]},
     {tracking_id, [#{id => "G-1", secret => "s", name => "x"}], ["unknown key name"]},
     {google_analytics_url, "ftp://example.com", ["ftp", "https"]},
     {google_analytics_url, "http://example.com", ["loopback"]},
     {google_analytics_url, "https://www.google-analytics.com/mp/collect", ["base URL only"]},
     {google_analytics_url, 7, ["google_analytics_url = 7", "URL"]},
     {report_file, "/system_metrics_report.json", ["root"]},
     {report_file, "/var/log/", ["path of a file"]},
     {report_file, undefined, ["report_file = undefined", "file path"]}].

bad_values_are_refused_with_clear_errors(Config) ->
    [begin
         Result = ?SERVICE:start(shape(Config, [{Option, Value}])),
         ?assertMatch({error, {invalid_option, Option, _}}, Result, {Option, Value}),
         {error, {invalid_option, _, Message}} = Result,
         [?assert(msm_test:contains(Message, Word), {Option, Value, Message, Word}) || Word <- Words],
         ?assertEqual(undefined, whereis(?SERVICE))
     end || {Option, Value, Words} <- bad_values()].

unknown_options_get_a_did_you_mean(Config) ->
    ?assertEqual({error, {unknown_option, periodic_reports,
                          <<"unknown option periodic_reports; did you mean periodic_report?">>}},
                 ?SERVICE:start(shape(Config, [{periodic_reports, 1000}]))),
    ?assertEqual({error, {unknown_option, trackingid,
                          <<"unknown option trackingid; did you mean tracking_id?">>}},
                 ?SERVICE:start(shape(Config, [{trackingid, "UA-1-1"}]))),
    {error, {unknown_option, colour, Message}} = ?SERVICE:start(shape(Config, [{colour, blue}])),
    ?assert(msm_test:contains(Message, "the options are report, initial_report, periodic_report")).

the_misspelt_intial_report_works_with_one_warning(Config) ->
    msm_log_capture:start(),
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), #{}),
    {ok, _} = ?SERVICE:start(shape(Config, [{intial_report, 60000} | maps:to_list(Options)])),
    Warnings = [T || {warning, #{what := system_metrics_option_warning, text := T}} <- msm_log_capture:collected()],
    ?assertMatch([_], Warnings),
    ?assert(msm_test:contains(Warnings, "intial_report is a misspelling of initial_report")),
    %% Checked before anything else, even with the service running.
    {error, {invalid_option, _, Twice}} = ?SERVICE:start(shape(Config, [{intial_report, 1}, {initial_report, 2}])),
    ?assert(msm_test:contains(Twice, "initial_report is given more than once")).

a_bad_secret_is_never_shown(Config) ->
    {error, {invalid_option, tracking_id, Message}} =
        ?SERVICE:start(shape(Config, [{tracking_id, #{id => "G-1", secret => "top secret with spaces"}}])),
    ?assert(msm_test:contains(Message, "secret must be")),
    ?assertNot(msm_test:contains(Message, "top secret")),
    %% Misshapen tracking ids, options and URLs are described, never echoed.
    Secret = "S3CRET-LEAK",
    Refused = [?SERVICE:start(shape(Config, [{tracking_id, [{secret, Secret}, {id, "G-1"}, {name, x}]}])),
               ?SERVICE:start(shape(Config, [{tracking_id, {"G-1", Secret}}])),
               ?SERVICE:start(shape(Config, [{tracking_id, [{"G-2", Secret}]}])),
               ?SERVICE:start(shape(Config, [{tracking_id, #{id => Secret, secret => "G-12345"}}])),
               ?SERVICE:start(shape(Config, [{google_analytics_url, "https://user:" ++ Secret ++ "@example.com"}])),
               ?SERVICE:start([{tracking_id, "G-1", Secret}]),
               ?SERVICE:start({options, Secret})],
    [?assertMatch({error, _}, R) || R <- Refused],
    ?assertNot(msm_test:contains(term_to_binary(Refused), Secret)).

valid_options_start_the_service(Config) ->
    Options = [{report, true}, {initial_report, 0}, {periodic_report, 60000},
               {tracking_id, [#{id => <<"G-BINARY1">>, secret => <<"binary-secret">>},
                              #{id => "G-CHARLIST1", secret => "charlist-secret"}]},
               {google_analytics_url, ga4_collector_port:url(?config(collector, Config))},
               {report_file, filename:join(?config(dir, Config), "r.json")}],
    {ok, Pid} = ?SERVICE:start(shape(Config, Options)),
    ?assert(is_pid(Pid)),
    Requests = ga4_collector_port:wait_for_requests(?config(collector, Config), <<"/mp/collect">>, 2),
    ?assertEqual([<<"G-BINARY1">>, <<"G-CHARLIST1">>],
                 lists:usort([Id || #{<<"measurement_id">> := Id} <- Requests])).

a_refused_start_leaves_the_running_service_alone(Config) ->
    Collector = ?config(collector, Config),
    Options = msm_test:options(Collector, ?config(dir, Config), #{}),
    {ok, Pid} = ?SERVICE:start(Options),
    {ok, #{<<"client_id">> := ClientId}} = ?SERVICE:report_now(),
    {error, {invalid_option, periodic_report, _}} = ?SERVICE:start(#{periodic_report => 0}),
    {error, {already_started, Pid}} = ?SERVICE:start(Options#{google_analytics_url => "https://elsewhere.example"}),
    ?assertEqual(Pid, whereis(?SERVICE)),
    {ok, #{<<"client_id">> := ClientId, <<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} =
        ?SERVICE:report_now(),
    ?assertEqual(2, length(ga4_collector_port:requests(Collector))).

a_bad_default_tracking_id_is_named(Config) ->
    msm_test:set_env(default_tracking_id, "not-an-id"),
    {error, {invalid_option, default_tracking_id, Message}} =
        ?SERVICE:start(msm_test:options(?config(collector, Config), ?config(dir, Config), #{})),
    ?assert(msm_test:contains(Message, "default_tracking_id (application environment)")).
