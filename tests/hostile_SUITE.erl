%% @doc Hostile input against the service, each attack real: collectors that answer
%% without end, planted links, FIFOs and devices, system paths, privacy switches of
%% unknown values, secrets pasted into URLs, improper lists, a period of a millisecond,
%% forged internal messages, killed supervisors and a service made to crash again and
%% again.
-module(hostile_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("kernel/include/file.hrl").

-define(SERVICE, service_mongoose_system_metrics).

all() ->
    [an_endless_answer_is_not_read,
     an_endless_answer_under_a_memory_cap_leaves_the_node_up,
     planted_links_are_never_followed,
     fifos_and_devices_are_never_read,
     system_paths_are_refused,
     unknown_privacy_switch_values_turn_reporting_off,
     a_secret_in_a_url_is_never_echoed,
     improper_lists_are_named_errors,
     a_period_below_a_minute_is_refused,
     forged_cluster_messages_are_ignored,
     a_killed_supervisor_brings_the_service_back,
     a_service_that_keeps_crashing_is_started_again,
     stop_is_final].

init_per_suite(Config) ->
    msm_test:fast_retries(),
    msm_test:test_environment(),
    Config.

end_per_suite(_Config) ->
    msm_test:default_retries().

init_per_testcase(_Case, Config) ->
    ok = ?SERVICE:stop(),
    msm_log_capture:start(),
    msm_test:init_case(Config, "hostile").

end_per_testcase(_Case, Config) ->
    msm_test:end_case(Config).

start(Config) ->
    {ok, Pid} = ?SERVICE:start(msm_test:options(?config(collector, Config), ?config(dir, Config), #{})),
    Pid.

logged(What) ->
    [R || {_, #{what := W} = R} <- msm_log_capture:collected(), W =:= What].

start(Config, Extra) ->
    ?SERVICE:start(msm_test:options(?config(collector, Config), ?config(dir, Config), Extra)).

%% The resident memory of this VM, in KiB.
rss_kib() ->
    list_to_integer(string:trim(os:cmd("ps -o rss= -p " ++ os:getpid()))).

%% A collector whose answers never end: a 2xx stands without its body being read, any
%% other answer is reported as too big to read, validation refuses it; memory stays put
%% and each call ends well before the delivery deadline.
an_endless_answer_is_not_read(Config) ->
    Collector = ?config(collector, Config),
    _ = start(Config),
    Before = rss_kib(),
    ga4_collector_port:set_mode(Collector, "endless 200"),
    {Ok, {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}}} = timer:tc(fun ?SERVICE:report_now/0),
    ga4_collector_port:set_mode(Collector, "endless 500"),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"failed">>, <<"error">> := Error}]}} = ?SERVICE:report_now(),
    ?assert(msm_test:contains(Error, "not read"), Error),
    ga4_collector_port:set_mode(Collector, "endless 200"),
    {ok, [#{<<"error">> := Validation}]} = ?SERVICE:validate(),
    ?assert(msm_test:contains(Validation, "not read"), Validation),
    Growth = rss_kib() - Before,
    ct:pal("delivered in ~b ms; resident memory grew by ~b KiB", [Ok div 1000, Growth]),
    ?assert(Ok < 10000000),
    ?assert(Growth < 100 * 1024).

%% As in a container: a node limited to 4 GiB of address space, its collector answering
%% without end. Reading the whole answer would make the VM abort; the node stays up and
%% the report is delivered.
an_endless_answer_under_a_memory_cap_leaves_the_node_up(Config) ->
    Collector = ?config(collector, Config),
    ga4_collector_port:set_mode(Collector, "endless 200"),
    Ebin = filename:dirname(code:which(?SERVICE)),
    {Peer, _} = msm_test:start_peer(#{connection => standard_io,
                                      exec => {"/bin/sh", ["-c", "ulimit -v 4194304 && exec erl \"$@\"", "sh"]},
                                      args => ["-pa", Ebin | msm_test:peer_args()]}),
    "4194304" = string:trim(peer:call(Peer, os, cmd, ["ulimit -v"])),
    Options = msm_test:options(Collector, ?config(dir, Config), #{}),
    {ok, _} = peer:call(Peer, ?SERVICE, start, [Options]),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} =
        peer:call(Peer, ?SERVICE, report_now, [], 90000),
    ?assertEqual(running, peer:get_state(Peer)),
    ?assertMatch(#{mode := on}, peer:call(Peer, ?SERVICE, status, [])).

%% A link where the report file or the send log should be: the victim is never written.
planted_links_are_never_followed(Config) ->
    Dir = ?config(dir, Config),
    Victim = filename:join(Dir, "victim"),
    ok = file:write_file(Victim, <<"precious">>),
    Report = filename:join(Dir, "system_metrics_report.json"),
    ok = file:make_symlink(Victim, Report),
    {error, {invalid_option, report_file, Why}} = start(Config, #{}),
    ?assert(msm_test:contains(Why, "symbolic link"), Why),
    ok = file:delete(Report),
    %% Planted after the start: both refused, said in the report, the victim untouched.
    _ = start(Config),
    SendLog = filename:join(Dir, "system_metrics_send_log.jsonl"),
    _ = file:delete(SendLog),
    ok = file:make_symlink(Victim, SendLog),
    ok = file:make_symlink(Victim, Report),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}],
           <<"files">> := #{<<"send_log">> := #{<<"result">> := <<"failed">>, <<"error">> := LogWhy},
                            <<"report_file">> := #{<<"result">> := <<"failed">>, <<"error">> := FileWhy}}}} =
        ?SERVICE:report_now(),
    [?assert(msm_test:contains(W, "symbolic link"), W) || W <- [LogWhy, FileWhy]],
    ?assertEqual({ok, <<"precious">>}, file:read_file(Victim)).

%% A FIFO or a device as the CA bundle: refused at once, never opened to block or read
%% without end.
fifos_and_devices_are_never_read(Config) ->
    Fifo = filename:join(?config(dir, Config), "fifo"),
    "" = os:cmd("mkfifo " ++ Fifo),
    [begin
         {Us, {error, {invalid_option, ca_bundle, Why}}} = timer:tc(fun() -> start(Config, #{ca_bundle => Path}) end),
         ?assert(msm_test:contains(Why, "not a regular file"), Why),
         ?assert(Us < 2000000)
     end || Path <- [Fifo, "/dev/zero"]].

%% Devices, system files and the root, however the path is spelt.
system_paths_are_refused(Config) ->
    [?assertMatch({error, {invalid_option, report_file, _}}, start(Config, #{report_file => Path}))
     || Path <- ["/dev/null", "/etc/passwd", "/proc/self/root/usage.json", "/usage.json", "/etc/mongooseim/usage.json",
                 ?config(dir, Config)]],
    ?assertEqual(undefined, whereis(?SERVICE)).

%% A mistyped opt-out never leaves reporting on: off, said once, named in status/0.
unknown_privacy_switch_values_turn_reporting_off(Config) ->
    [begin
         true = os:putenv(Var, Value),
         try
             msm_log_capture:start(),
             ignore = start(Config, #{}),
             #{mode := off, mode_reason := Why} = ?SERVICE:status(),
             ?assert(msm_test:contains(Why, Var), Why),
             Warned = [T || #{text := T} <- logged(system_metrics_option_warning), msm_test:contains(T, Var)],
             %% DO_NOT_TRACK=on is a known opt-out: off without a word.
             ?assertEqual({Var, Value, case Value of "on" -> 0; _ -> 1 end}, {Var, Value, length(Warned)})
         after
             os:unsetenv(Var)
         end
     end || {Var, Value} <- [{"MONGOOSEIM_SYSTEM_METRICS", "false"}, {"MONGOOSEIM_SYSTEM_METRICS", "disabled"},
                             {"DO_NOT_TRACK", "y"}, {"DO_NOT_TRACK", "on"}]],
    ?assertEqual([], ga4_collector_port:requests(?config(collector, Config))).

%% A secret pasted into a URL, an unknown key's value, an unknown option's long name:
%% none is in the error or the log.
a_secret_in_a_url_is_never_echoed(Config) ->
    Secret = "SUPERSECRET123",
    Refused = [start(Config, #{google_analytics_url => "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=" ++ Secret}),
               start(Config, #{tracking_id => #{id => "G-ABC123", secret => "s3cr3t-value", extra => Secret}}),
               start(Config, #{list_to_atom("x" ++ Secret ++ lists:duplicate(60, $y)) => 1})],
    [?assertMatch({error, _}, R) || R <- Refused],
    Logged = term_to_binary(msm_log_capture:collected()),
    [?assertNot(msm_test:contains(Bytes, Secret)) || Bytes <- [term_to_binary(Refused), Logged]].

%% Improper lists in options: named errors, never a panic of the core.
improper_lists_are_named_errors(Config) ->
    Options = msm_test:options(?config(collector, Config), ?config(dir, Config), #{}),
    [?assertMatch({error, {Kind, _, _}} when Kind =:= invalid_option; Kind =:= invalid_options, normalise(?SERVICE:start(O)))
     || O <- [[report | bad], Options#{tracking_id => [a | b]}, Options#{report_file => [$a | $b]}]].

normalise({error, {invalid_options, Message}}) -> {error, {invalid_options, options, Message}};
normalise(Other) -> Other.

%% A period of a millisecond would flood the collector and the log: refused, with the
%% floor in the message (tests lower it only through the application environment).
a_period_below_a_minute_is_refused(Config) ->
    msm_test:unset_env(min_periodic_report),
    {error, {invalid_option, periodic_report, Why}} = start(Config, #{periodic_report => 1}),
    ?assert(msm_test:contains(Why, "60000"), Why).

%% Casts of the right name and the wrong shape, and of no known name at all: none stops
%% the service or changes what it reports; each kind is logged once.
forged_cluster_messages_are_ignored(Config) ->
    Pid = start(Config),
    #{client_id := ClientId} = ?SERVICE:status(),
    Forged = [{cluster_reported, now, self(), #{}},
              {cluster_reported, 1, 'x@y', #{identity => #{client_id => 7}}},
              {cluster_reported, not_a_map},
              {cluster_reported},
              <<"garbage">>,
              {please, crash}],
    %% The right shape from this very node, with a hand-over the core refuses.
    Refused = [{cluster_reported, 1, node(), #{identity => #{client_id => <<"not-a-uuid">>, created_ms => 1}}},
               {cluster_reported, 1, node(), #{stanza_totals => [a | b]}}],
    [gen_server:cast(?SERVICE, F) || F <- Forged ++ Forged ++ Refused],
    {ok, #{<<"client_id">> := ClientId, <<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} =
        ?SERVICE:report_now(),
    ?assertEqual(Pid, whereis(?SERVICE)),
    Logged = msm_log_capture:collected(),
    %% One line per kind of message, however often it came.
    ?assertEqual(lists:sort([cluster_reported, other, please]),
                 lists:sort([K || {_, #{what := system_metrics_message_ignored, message := K}} <- Logged])),
    ?assertMatch([{invalid_hand_over, _}, {invalid_hand_over, _}],
                 lists:sort([R || {_, #{what := system_metrics_hand_over_refused, reason := R}} <- Logged])).

%% Its supervisor killed, the service comes back by itself with its configuration.
a_killed_supervisor_brings_the_service_back(Config) ->
    Pid = start(Config),
    exit(whereis(mongoose_system_metrics_service_sup), kill),
    _ = msm_test:wait_for_service(Pid),
    ?assertMatch(#{mode := on}, ?SERVICE:status()),
    ga4_collector_port:clear(?config(collector, Config)),
    {ok, #{<<"destinations">> := [#{<<"result">> := <<"delivered">>}]}} = ?SERVICE:report_now().

%% More crashes in a minute than the supervisor takes: it gives up, is started again by
%% its own supervisor, and starts the service again; a warning says so.
a_service_that_keeps_crashing_is_started_again(Config) ->
    _ = start(Config),
    lists:foldl(fun(_, Pid) ->
                        exit(Pid, kill),
                        msm_test:wait_for_service(Pid)
                end, msm_test:wait_for_service(undefined), lists:seq(1, 5)),
    ?assertMatch(#{mode := on}, ?SERVICE:status()),
    %% Logged by the supervisor that restores the service, once it has started it.
    msm_test:wait_until("the warning that the service was restored",
                        fun() -> logged(system_metrics_service_restored) =/= [] end),
    {ok, _} = ?SERVICE:report_now().

%% Only stop/0 ends reporting: a supervisor restarted after it starts nothing.
stop_is_final(Config) ->
    _ = start(Config),
    ok = ?SERVICE:stop(),
    exit(whereis(mongoose_system_metrics_service_sup), kill),
    msm_test:wait_until("the supervisor restarted", fun() -> is_pid(whereis(mongoose_system_metrics_service_sup)) end),
    %% The top supervisor answers once it has finished restarting its child, which
    %% starts again, in its start_link/0, whatever service it is to restore.
    _ = supervisor:which_children(mongoose_system_metrics_sup),
    ?assertEqual(undefined, whereis(?SERVICE)),
    ?assertMatch(#{mode := off, mode_reason := <<"stopped by stop/0">>}, ?SERVICE:status()).
