-module(mongoose_system_metrics_structure_tests).
-include_lib("eunit/include/eunit.hrl").

%% Calls between the application's modules go one way: no module reaches itself again
%% through others (a behaviour callback into a source module is no call).
no_module_calls_back_into_a_caller_test() ->
    Ebin = filename:dirname(code:which(mongoose_system_metrics_core)),
    {ok, Xref} = xref:start([{xref_mode, modules}]),
    try
        {ok, _} = xref:add_directory(Xref, Ebin, [{warnings, false}]),
        {ok, Edges} = xref:q(Xref, "ME || AM"),
        Own = [{From, To} || {From, To} <- Edges, From =/= To, own(From), own(To)],
        ?assertNotEqual([], Own),
        Graph = digraph:new(),
        [begin digraph:add_vertex(Graph, V) end || {A, B} <- Own, V <- [A, B]],
        [digraph:add_edge(Graph, A, B) || {A, B} <- Own],
        Loops = [Cycle || V <- digraph:vertices(Graph), Cycle <- [digraph:get_cycle(Graph, V)], Cycle =/= false],
        digraph:delete(Graph),
        ?assertEqual([], Loops)
    after
        xref:stop(Xref)
    end.

own(Module) ->
    lists:prefix("mongoose_system_metrics", atom_to_list(Module))
        orelse lists:prefix("service_mongoose_system_metrics", atom_to_list(Module)).
