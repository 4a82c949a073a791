%% @doc Helpers shared by the suites.
-module(msm_test).
-export([test_environment/0, peer_args/0, fast_retries/0, fast_delivery/0, default_retries/0, compile_fixtures/2, options/3, fresh_dir/2, is_uuid_v4/1, decoded/1, event/2, events_named/2, read_json/1,
         wait_until/1, contains/2]).

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

%% @doc Retries Fun (every 50 ms, for up to 10 s) until it returns true.
-spec wait_until(fun(() -> boolean())) -> ok.
wait_until(Fun) ->
    wait_until(Fun, 200).

wait_until(Fun, 0) ->
    true = Fun(), ok;
wait_until(Fun, Tries) ->
    case Fun() of
        true -> ok;
        false -> timer:sleep(50), wait_until(Fun, Tries - 1)
    end.

-spec contains(iodata(), iodata()) -> boolean().
contains(Haystack, Needle) ->
    binary:match(iolist_to_binary(Haystack), iolist_to_binary(Needle)) =/= nomatch.
