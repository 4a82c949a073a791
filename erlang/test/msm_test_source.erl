%% A facts source for the tests, steered through a persistent term.
-module(msm_test_source).
-behaviour(mongoose_system_metrics_facts).
-export([available/0, facts/0, service_configured/0]).

available() ->
    persistent_term:get(msm_test_source) =/= unavailable.

facts() ->
    case persistent_term:get(msm_test_source) of
        {facts, Facts} -> Facts;
        crash -> error(deliberate)
    end.

service_configured() ->
    case persistent_term:get(msm_test_source) of
        {facts, _} -> true;
        crash -> error(deliberate)
    end.
