%% @doc The facts any BEAM node can show: uptime, the product's version, the loaded
%% `gen_mod' modules and the listening TCP sockets. (How many nodes run the service is
%% `mongoose_system_metrics_cluster''s to say.)
-module(mongoose_system_metrics_vm).
-behaviour(mongoose_system_metrics_facts).

-export([available/0, facts/0, facts/1, service_configured/0]).

%% Reductions a first read of a module's attributes counts for: a slice of 4,000 then
%% reads about 20 modules, a fraction of a millisecond.
-define(ATTRIBUTES_REDUCTIONS, 200).

-spec available() -> true.
available() ->
    true.

-spec service_configured() -> unknown.
service_configured() ->
    unknown.

-spec facts() -> mongoose_system_metrics_facts:facts().
facts() ->
    facts([]).

%% @doc The facts, leaving out those named in `Skip' (a host source gave them).
-spec facts([atom()]) -> mongoose_system_metrics_facts:facts().
facts(Skip) ->
    mongoose_system_metrics_facts:gather(
      ?MODULE,
      [{uptime_ms, fun() -> element(1, statistics(wall_clock)) end},
       {version, fun version/0},
       {modules, fun() -> #{node() => maps:from_list([{M, #{}} || M <- gen_mods()])} end},
       {listeners, fun() -> [#{proto => tcp} || _ <- listening_sockets()] end}],
      Skip).

version() ->
    App = application:get_env(mongoose_system_metrics, product_application, mongooseim),
    case application:get_key(App, vsn) of
        {ok, Vsn} -> Vsn;
        undefined -> undefined
    end.

%% Loaded modules that declare the gen_mod behaviour, as MongooseIM modules do. Reading a
%% module's attributes decodes them afresh, and a node has thousands of modules: the
%% answer is kept for each version of each module (its MD5), so that a cycle only reads
%% the modules loaded since the last one.
gen_mods() ->
    [M || {M, _} <- code:all_loaded(), declares_gen_mod(M)].

declares_gen_mod(Module) ->
    try erlang:get_module_info(Module, md5) of
        Md5 ->
            Key = {declares_gen_mod, Module, Md5},
            case mongoose_system_metrics_state:get(Key, unknown) of
                unknown ->
                    %% Decoding a module's attributes costs far more than the one reduction
                    %% it counts: counting more lets the scheduler switch processes in the
                    %% middle of the first pass over thousands of modules.
                    erlang:bump_reductions(?ATTRIBUTES_REDUCTIONS),
                    Declares = declares(Module, gen_mod),
                    mongoose_system_metrics_state:set(Key, Declares),
                    Declares;
                Known ->
                    Known
            end
    catch
        error:badarg -> false  % unloaded meanwhile
    end.

declares(Module, Behaviour) ->
    try Module:module_info(attributes) of
        Attributes ->
            lists:member(Behaviour, proplists:get_value(behaviour, Attributes, []) ++
                                    proplists:get_value(behavior, Attributes, []))
    catch
        _:_ -> false
    end.

%% Listening TCP sockets, leaving out the one Erlang distribution listens on.
listening_sockets() ->
    Distribution = whereis(net_kernel),
    [Port || Port <- erlang:ports(),
             erlang:port_info(Port, name) =:= {name, "tcp_inet"},
             is_listening(Port, Distribution)].

is_listening(Port, Distribution) ->
    try inet:info(Port) of
        #{states := States, owner := Owner} ->
            lists:member(listen, States) andalso Owner =/= Distribution;
        _ ->
            false
    catch
        _:_ -> false
    end.
