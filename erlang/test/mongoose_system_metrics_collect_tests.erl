-module(mongoose_system_metrics_collect_tests).
-include_lib("eunit/include/eunit.hrl").

-define(M, mongoose_system_metrics_collect).

with_source(Behaviour, Test) ->
    _ = application:load(mongoose_system_metrics),
    persistent_term:put(msm_test_source, Behaviour),
    application:set_env(mongoose_system_metrics, facts_source, msm_test_source),
    try Test()
    after
        application:set_env(mongoose_system_metrics, facts_source, auto),
        persistent_term:erase(msm_test_source)
    end.

without_a_host_source_the_vm_facts_are_used_test() ->
    _ = application:load(mongoose_system_metrics),
    ?assertEqual(none, ?M:host_source()),
    ?assertMatch(#{uptime_ms := _, modules := _}, ?M:collect()).

host_facts_overlay_the_vm_facts_test() ->
    with_source({facts, #{node_count => 7, domain_count => 3}},
                fun() ->
                        ?assertEqual(msm_test_source, ?M:host_source()),
                        Facts = ?M:collect(),
                        ?assertMatch(#{node_count := 7, domain_count := 3, uptime_ms := _}, Facts)
                end).

a_crashing_source_leaves_its_facts_out_test() ->
    with_source(crash,
                fun() ->
                        Facts = ?M:collect(),
                        ?assertMatch(#{uptime_ms := _}, Facts),
                        ?assertNot(maps:is_key(domain_count, Facts))
                end).

an_unavailable_source_is_not_used_test() ->
    with_source(unavailable, fun() -> ?assertEqual(none, ?M:host_source()) end).

the_host_says_whether_the_service_is_configured_test() ->
    with_source({facts, #{}}, fun() -> ?assert(?M:host_says_configured()) end),
    with_source(crash, fun() -> ?assertEqual(unknown, ?M:host_says_configured()) end),
    ?assertEqual(unknown, ?M:host_says_configured()).
