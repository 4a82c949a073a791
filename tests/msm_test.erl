%% @doc Helpers shared by the suites.
-module(msm_test).
-export([test_environment/0, peer_args/0, fast_retries/0, fast_delivery/0, default_retries/0, compile_fixtures/2, options/3, fresh_dir/2, is_uuid_v4/1, decoded/1, event/2, events_named/2, read_json/1,
         wait_until/2, wait_until/3, wait_for_service/1, contains/2]).
%% A case's set-up and clean-up.
-export([init_case/2, end_case/1, set_env/2, unset_env/1, start_peer/1, case_peers/0, stop_peers/0]).

-define(SERVICE, service_mongoose_system_metrics).
%% What a case changed, for end_case/1: kept outside the case's process, since
%% common_test runs end_per_testcase in another process when the case timed out.
-define(SAVED_ENV, {?MODULE, saved_env}).
-define(PEERS, {?MODULE, peers}).

%% @doc The settings of a test node: MongooseIM's built-in destination left out (as a
%% packager can, with `default_tracking_id = none'), so that what arrives is what the
%% case configured (the built-in destination is tested on its own), and periods as short
%% as a case wants (`min_periodic_report', for tests only).
-spec test_environment() -> ok.
test_environment() ->
    _ = application:load(mongoose_system_metrics),
    application:set_env(mongoose_system_metrics, default_tracking_id, none),
    application:set_env(mongoose_system_metrics, min_periodic_report, 1).

%% @doc `test_environment/0' for a peer node, as command-line arguments.
-spec peer_args() -> [string()].
peer_args() ->
    ["-mongoose_system_metrics", "default_tracking_id", "none", "-mongoose_system_metrics", "min_periodic_report", "1"].

%% @doc Retries a few milliseconds apart, so that failing destinations fail fast: set in
%% the application environment (loaded first: loading resets it).
-spec fast_retries() -> ok.
fast_retries() ->
    _ = application:load(mongoose_system_metrics),
    application:set_env(mongoose_system_metrics, delivery, fast_delivery()).

%% @doc The delivery settings of `fast_retries/0', for a NIF start argument.
-spec fast_delivery() -> #{atom() => pos_integer()}.
fast_delivery() ->
    #{base_delay_ms => 20, max_delay_ms => 100}.

%% @doc Back to the default delivery settings.
-spec default_retries() -> ok.
default_retries() ->
    application:unset_env(mongoose_system_metrics, delivery).

%% @doc Compiles the `*.fixture' Erlang sources of a suite's data dir into a directory
%% of the suite's own, for the nodes that need them; returns that directory. Fixtures
%% are not named `.erl' so that rebar3 does not compile them into the test node.
-spec compile_fixtures(proplists:proplist(), string()) -> file:filename().
compile_fixtures(Config, Name) ->
    Out = fresh_dir(Config, Name),
    %% PropEr comes from Debian's erlang-proper, in OTP's lib directory.
    Includes = filelib:wildcard(filename:join([code:root_dir(), "lib", "proper-*", "include"])),
    [begin
         {ok, Forms} = epp:parse_file(File, [{includes, Includes}]),
         {ok, Module, Beam} = compile:forms(Forms, [report, return_errors]),
         ok = file:write_file(filename:join(Out, atom_to_list(Module) ++ ".beam"), Beam)
     end || File <- filelib:wildcard(filename:join(proplists:get_value(data_dir, Config), "*.fixture"))],
    Out.

%% @doc Options that report to the collector, with the report file in Dir.
-spec options(ga4_collector_port:collector(), file:filename(), map()) -> map().
options(Collector, Dir, Extra) ->
    maps:merge(#{google_analytics_url => ga4_collector_port:url(Collector),
                 tracking_id => #{id => "G-OPERATOR1", secret => "operator-secret-123"},
                 report_file => filename:join(Dir, "system_metrics_report.json"),
                 report => true},
               Extra).

%% @doc An empty directory under the suite's private dir.
-spec fresh_dir(proplists:proplist(), string()) -> file:filename().
fresh_dir(Config, Name) ->
    Dir = filename:join(proplists:get_value(priv_dir, Config), Name ++ "-" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Dir.

-spec is_uuid_v4(binary()) -> boolean().
is_uuid_v4(Id) ->
    match =:= re:run(Id, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                     [{capture, none}]).

%% @doc A report of report_now/0, last_report/0 or preview/0 with its `events' (and a
%% preview's `requests') decoded from the JSON text they come as.
-spec decoded(map()) -> map().
decoded(Report) ->
    maps:map(fun(Key, Text) when Key =:= <<"events">>; Key =:= <<"requests">> -> msm_json:decode(Text);
                (_Key, Value) -> Value
             end, Report).

%% @doc The only event named Name.
-spec event(binary(), [map()]) -> map().
event(Name, Events) ->
    [Event] = events_named(Name, Events),
    Event.

-spec events_named(binary(), [map()]) -> [map()].
events_named(Name, Events) ->
    [E || #{<<"name">> := N} = E <- Events, N =:= Name].

-spec read_json(file:filename()) -> term().
read_json(Path) ->
    {ok, Bytes} = file:read_file(Path),
    msm_json:decode(Bytes).

%% @doc `wait_until/3' with up to 10 seconds.
-spec wait_until(string(), fun(() -> Result | false)) -> Result when Result :: term().
wait_until(What, Fun) ->
    wait_until(What, Fun, 10000).

%% @doc Calls Fun every 25 ms until it returns anything but `false', and returns that;
%% fails the case, saying that it waited for What, when TimeoutMs pass first.
-spec wait_until(string(), fun(() -> Result | false), pos_integer()) -> Result when Result :: term().
wait_until(What, Fun, TimeoutMs) ->
    poll(What, Fun, TimeoutMs, erlang:monotonic_time(millisecond) + TimeoutMs).

poll(What, Fun, TimeoutMs, Deadline) ->
    case Fun() of
        false ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true ->
                    ct:fail("waited ~b ms for ~ts, in vain", [TimeoutMs, What]);
                false ->
                    timer:sleep(25),
                    poll(What, Fun, TimeoutMs, Deadline)
            end;
        Result ->
            Result
    end.

%% @doc Waits until this node's service runs in a process other than Old (`undefined'
%% for any), as after a restart, and returns that process.
-spec wait_for_service(pid() | undefined) -> pid().
wait_for_service(Old) ->
    wait_until("the service running in a new process",
               fun() ->
                       case whereis(?SERVICE) of
                           undefined -> false;
                           Old -> false;
                           New -> New
                       end
               end).

-spec contains(iodata(), iodata()) -> boolean().
contains(Haystack, Needle) ->
    binary:match(iolist_to_binary(Haystack), iolist_to_binary(Needle)) =/= nomatch.

%% A case's set-up and clean-up.

%% @doc The case's own collector (`collector') and an empty report directory (`dir')
%% named after DirName; `end_case/1' stops the collector.
-spec init_case(proplists:proplist(), string()) -> proplists:proplist().
init_case(Config, DirName) ->
    [{collector, ga4_collector_port:start()}, {dir, fresh_dir(Config, DirName)} | Config].

%% @doc Undoes whatever the case did, whether it passed or failed: stops this node's
%% service and the peers of `start_peer/1', ends the log capture, puts back every key
%% of `set_env/2' and `unset_env/1' as it was before the case, and stops the collector.
-spec end_case(proplists:proplist()) -> ok.
end_case(Config) ->
    ok = ?SERVICE:stop(),
    stop_peers(),
    msm_log_capture:stop(),
    restore_env(),
    case proplists:get_value(collector, Config) of
        undefined -> ok;
        Collector -> ga4_collector_port:stop(Collector)
    end.

%% @doc Sets Key of the application's environment for this case only: `end_case/1'
%% puts back the value it had before.
-spec set_env(atom(), term()) -> ok.
set_env(Key, Value) ->
    save_env(Key),
    application:set_env(mongoose_system_metrics, Key, Value).

%% @doc Unsets Key of the application's environment for this case only.
-spec unset_env(atom()) -> ok.
unset_env(Key) ->
    save_env(Key),
    application:unset_env(mongoose_system_metrics, Key).

%% The value before the case, kept the first time the case changes Key. The application
%% is loaded first: loading it later would reset the environment.
save_env(Key) ->
    _ = application:load(mongoose_system_metrics),
    Saved = persistent_term:get(?SAVED_ENV, #{}),
    case maps:is_key(Key, Saved) of
        true -> ok;
        false -> persistent_term:put(?SAVED_ENV, Saved#{Key => application:get_env(mongoose_system_metrics, Key)})
    end.

restore_env() ->
    maps:foreach(fun(Key, {ok, Value}) -> application:set_env(mongoose_system_metrics, Key, Value);
                    (Key, undefined) -> application:unset_env(mongoose_system_metrics, Key)
                 end, persistent_term:get(?SAVED_ENV, #{})),
    _ = persistent_term:erase(?SAVED_ENV),
    ok.

%% @doc Starts a peer node (`peer:start/1') that `end_case/1' stops.
-spec start_peer(peer:start_options()) -> {pid(), node()}.
start_peer(Options) ->
    {ok, Peer, Node} = peer:start(Options),
    persistent_term:put(?PEERS, case_peers() ++ [{Peer, Node}]),
    {Peer, Node}.

%% @doc The peers this case started with `start_peer/1', in the order it started them.
-spec case_peers() -> [{pid(), node()}].
case_peers() ->
    persistent_term:get(?PEERS, []).

%% @doc Stops every peer of `start_peer/1'.
-spec stop_peers() -> ok.
stop_peers() ->
    _ = [catch peer:stop(Peer) || {Peer, _} <- case_peers()],
    _ = persistent_term:erase(?PEERS),
    ok.
