-module(mongoose_system_metrics_vm_tests).
-include_lib("eunit/include/eunit.hrl").

-define(M, mongoose_system_metrics_vm).

facts_of_a_plain_node_test() ->
    Facts = ?M:facts(),
    ?assertMatch(#{uptime_ms := U, modules := #{}, listeners := L} when is_integer(U) andalso is_list(L), Facts),
    %% How many nodes run the service is the cluster module's to say.
    ?assertNot(maps:is_key(node_count, Facts)).

a_listening_socket_is_a_tcp_listener_test() ->
    Before = length(maps:get(listeners, ?M:facts())),
    {ok, Listen} = gen_tcp:listen(0, []),
    {ok, Connected} = gen_tcp:connect({127, 0, 0, 1}, element(2, inet:port(Listen)), []),
    try
        %% The connected socket is not a listener; the listening one is.
        ?assertEqual(Before + 1, length(maps:get(listeners, ?M:facts()))),
        ?assert(lists:member(#{proto => tcp}, maps:get(listeners, ?M:facts())))
    after
        gen_tcp:close(Connected),
        gen_tcp:close(Listen)
    end.

version_comes_from_the_product_application_test() ->
    _ = application:load(mongoose_system_metrics),
    try
        application:set_env(mongoose_system_metrics, product_application, kernel),
        {ok, Vsn} = application:get_key(kernel, vsn),
        ?assertEqual(Vsn, maps:get(version, ?M:facts())),
        application:set_env(mongoose_system_metrics, product_application, no_such_app),
        ?assertNot(maps:is_key(version, ?M:facts()))
    after
        application:unset_env(mongoose_system_metrics, product_application)
    end.

a_loaded_gen_mod_is_listed_test() ->
    %% A module declaring the gen_mod behaviour, made on the fly.
    Forms = [{attribute, 1, module, mod_eunit_example},
             {attribute, 2, behaviour, gen_mod},
             {attribute, 3, export, []}],
    {ok, Mod, Bin} = compile:forms(Forms, [no_auto_import, nowarn_undefined_behaviour]),
    {module, Mod} = code:load_binary(Mod, "mod_eunit_example.erl", Bin),
    try
        [Modules] = maps:values(maps:get(modules, ?M:facts())),
        ?assert(maps:is_key(mod_eunit_example, Modules)),
        ?assertNot(maps:is_key(lists, Modules))
    after
        code:purge(Mod), code:delete(Mod)
    end.
