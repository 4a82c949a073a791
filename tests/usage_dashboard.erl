%% @doc The usage server's dashboard checked in a real headless Chromium
%% (`native/usage_server/tests/browser/dashboard_test.py', through selenium and Debian's
%% ChromeDriver, which `scripts/ensure-browser.sh' installs): what it must draw is worked
%% out here from the reports the nodes sent, one newest report per deployment.
-module(usage_dashboard).
-export([check/4, expectation/1]).

%% @doc Runs the browser test against `Server' for these reports (decoded, each the newest
%% of its deployment, all sent today); writes the expectation in `Dir' and the screenshot
%% to `Screenshot'. Returns the test's output; fails the case when the test fails.
-spec check(usage_server_port:server(), [map()], file:filename(), file:filename()) -> binary().
check(Server, Reports, Dir, Screenshot) ->
    ExpectFile = filename:join(Dir, "expect.json"),
    ok = file:write_file(ExpectFile, msm_json:encode(expectation(Reports))),
    Root = repository(),
    Python = string:trim(os:cmd(filename:join([Root, "scripts", "ensure-browser.sh"]) ++ " 2>/dev/null")),
    filelib:is_regular(Python) orelse error({no_python_for_the_browser_test, Python}),
    Test = filename:join([Root, "native", "usage_server", "tests", "browser", "dashboard_test.py"]),
    {Status, Output} = run(Python, [Test], [{"USAGE_SERVER_URL", usage_server_port:url(Server) ++ "/"},
                                            {"USAGE_EXPECT", ExpectFile},
                                            {"USAGE_SCREENSHOT", Screenshot}]),
    ct:log("dashboard test (screenshot ~s):~n~ts", [Screenshot, Output]),
    Status =:= 0 orelse error({dashboard_test_failed, Status, Output}),
    filelib:is_regular(Screenshot) orelse error({no_screenshot, Screenshot}),
    Output.

%% @doc What the overview must draw for these reports, in the browser test's terms.
-spec expectation([map()]) -> map().
expectation(Reports) ->
    Count = fun(Labels) -> lists:foldl(fun(L, Acc) -> maps:update_with(L, fun(N) -> N + 1 end, 1, Acc) end,
                                       #{}, Labels) end,
    Clusters = [C || R <- Reports, C <- params_of(<<"cluster">>, R)],
    Enabled = fun(Name) -> Count([K || R <- Reports, K <- lists:usort([K || P <- params_of(Name, R),
                                                                          {K, <<"enabled">>} <- maps:to_list(P)])])
              end,
    Traffic = lists:foldl(fun(#{<<"stanza_type">> := T, <<"increment">> := I}, Acc) ->
                                  maps:update_with(T, fun(#{} = Days) -> Days#{today() := maps:get(today(), Days) + I} end,
                                                   #{today() => I}, Acc)
                          end, #{}, [P || R <- Reports, P <- params_of(<<"xmpp_stanza_count">>, R)]),
    [#{<<"client_id">> := First, <<"events">> := FirstEvents} | _] = Reports,
    #{<<"deployments">> => [Id || #{<<"client_id">> := Id} <- Reports],
      <<"versions">> => Count([V || #{<<"version">> := V} <- Clusters]),
      <<"cluster_sizes">> => Count([integer_to_binary(N) || #{<<"node_number">> := N} <- Clusters]),
      <<"modules">> => Count([L || R <- Reports,
                                   L <- lists:usort([module_label(P) || P <- params_of(<<"module_with_opt">>, R)])]),
      <<"transports">> => Enabled(<<"transport_mechanism">>),
      <<"http_apis">> => Enabled(<<"http_api">>),
      <<"deployments_per_day">> => #{today() => length(Reports)},
      <<"traffic">> => Traffic,
      <<"deployment">> => #{<<"client_id">> => First, <<"events">> => [N || #{<<"name">> := N} <- FirstEvents]}}.

params_of(Name, #{<<"events">> := Events}) ->
    [P || #{<<"name">> := N, <<"params">> := P} <- Events, N =:= Name].

module_label(#{<<"module">> := M, <<"backend">> := B}) -> <<M/binary, " (", B/binary, ")">>;
module_label(#{<<"module">> := M}) -> M.

today() ->
    Now = list_to_binary(calendar:system_time_to_rfc3339(erlang:system_time(second), [{offset, "Z"}])),
    binary:part(Now, 0, 10).

%% The repository: the usage server's binary is in its target/release.
repository() ->
    filename:dirname(filename:dirname(filename:dirname(usage_server_port:binary_path()))).

run(Program, Args, Env) ->
    Port = open_port({spawn_executable, Program},
                     [{args, Args}, {env, Env}, exit_status, stderr_to_stdout, binary, hide]),
    collect(Port, <<>>).

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, <<Acc/binary, Data/binary>>);
        {Port, {exit_status, Status}} -> {Status, Acc}
    after 180000 -> error({browser_test_did_not_finish, Acc})
    end.
