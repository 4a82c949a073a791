%% @doc The MongooseIM adapter: the facts only MongooseIM knows, read through its public
%% functions (MongooseIM 6.x): configuration (`hosts', `host_types', modules, `listen',
%% `outgoing_pools', `instrumentation', `internal_databases', the config file), the
%% domain core, the component registry, cluster membership, the persistent cluster id and
%% the stanza counters.
%%
%% Every call into MongooseIM goes through `mim/3' and every fact is gathered on its own
%% (`mongoose_system_metrics_facts:gather/3'): a missing module, a changed function or an
%% odd value leaves that one fact out, logged once, and the cycle goes on. Only what the
%% report can use is handed on: for modules, the candidate backend options, never the
%% rest of their configuration.
-module(mongoose_system_metrics_mongooseim).
-behaviour(mongoose_system_metrics_facts).

-export([available/0, facts/0, service_configured/0, config_spec/0]).

%% Stanza types and the MongooseIM instrumentation metrics they are read from. "Sent"
%% counts what clients send in, "Received" what the server sends out.
-define(STANZA_METRICS, [{xmppMessageSent, xmpp_element_in, message_count},
                         {xmppMessageReceived, xmpp_element_out, message_count},
                         {xmppIqSent, xmpp_element_in, iq_count},
                         {xmppIqReceived, xmpp_element_out, iq_count},
                         {xmppPresenceSent, xmpp_element_in, presence_count},
                         {xmppPresenceReceived, xmpp_element_out, presence_count}]).

%% Option keys a module's backend may be reported under.
-define(BACKEND_KEYS, [backend, online_backend, api_version]).

%% @doc True when MongooseIM's configuration is loaded in this node.
-spec available() -> boolean().
available() ->
    try is_list(mim(mongoose_config, get_opt, [hosts]))
    catch _:_ -> false
    end.

%% @doc Whether `[services.service_mongoose_system_metrics]' is in the configuration.
-spec service_configured() -> boolean() | unknown.
service_configured() ->
    try mim(mongoose_service, is_loaded, [service_mongoose_system_metrics]) of
        Loaded when is_boolean(Loaded) -> Loaded;
        _ -> unknown
    catch _:_ -> unknown
    end.

-spec facts() -> mongoose_system_metrics_facts:facts().
facts() ->
    mongoose_system_metrics_facts:gather(
      ?MODULE,
      [{host_types, fun host_types/0},
       {domain_count, fun domain_count/0},
       {modules, fun modules/0},
       {listeners, fun listeners/0},
       {outgoing_pools, fun outgoing_pools/0},
       {components, fun components/0},
       {node_count, fun node_count/0},
       {config_file, fun() -> mim(mongoose_config, get_config_path, []) end},
       {stanza_counts, fun stanza_counts/0},
       {client_id, fun cluster_id/0}],
      []).

%% @doc The TOML spec of `[services.service_mongoose_system_metrics]', as MongooseIM's
%% config parser expects from a configurable service: a `section' record of
%% MongooseIM 6.x (`include/mongoose_config_spec.hrl'), built here as the tuple it is.
%% It checks types at parse time; the core checks everything else at start.
-spec config_spec() -> tuple().
config_spec() ->
    Integer = fun(Validate) -> option(integer, Validate) end,
    NonEmpty = option(string, non_empty),
    section(#{<<"report">> => option(boolean, any),
              <<"initial_report">> => Integer(non_negative),
              %% The spelling of the original documentation's example.
              <<"intial_report">> => Integer(non_negative),
              %% As the original: 0 passes the parser, and the service refuses it at start
              %% with a logged error, instead of the whole node failing to start.
              <<"periodic_report">> => Integer(non_negative),
              <<"tracking_id">> => section(#{<<"id">> => NonEmpty, <<"secret">> => NonEmpty}, all),
              <<"google_analytics_url">> => option(string, url),
              <<"report_file">> => NonEmpty,
              <<"ca_bundle">> => NonEmpty},
            []).

%% #section{items, validate_keys, required, validate, format_items, process, defaults,
%%          wrap, include}
section(Items, Required) ->
    {section, Items, any, Required, any, map, [], #{}, default, when_present}.

%% #option{type, validate, process, wrap}
option(Type, Validate) ->
    {option, Type, Validate, [], default}.

%% Facts.

%% MongooseIM's persistent cluster id, shared by every node (`ephemeral-' ids mean no
%% durable storage): the client id of the whole cluster.
cluster_id() ->
    case mim(mongoose_cluster_id, get_cached_cluster_id, []) of
        {ok, Id} when is_binary(Id) -> checked_cluster_id(Id);
        {error, _} -> undefined
    end.

%% Only what MongooseIM makes: a UUID, or `ephemeral-' and a UUID. Anything else (a
%% hand-made id could name its owner) is not sent; the node's own id is used instead.
checked_cluster_id(<<"ephemeral-", Uuid/binary>> = Id) ->
    case is_uuid(Uuid) of true -> Id; false -> undefined end;
checked_cluster_id(Id) ->
    case is_uuid(Id) of true -> Id; false -> undefined end.

is_uuid(Text) ->
    match =:= re:run(Text, "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                     [{capture, none}]).

host_types() ->
    opt(hosts) ++ opt(host_types).

domain_count() ->
    case mim(mongoose_domain_core, domains_count, []) of
        N when is_integer(N) -> N;
        undefined -> undefined
    end.

%% Per host type, the modules enabled there, each with its candidate backend options. A
%% host type whose modules are not a map is left out, not the others.
modules() ->
    maps:from_list([{HostType, maps:map(fun backend_options/2, Modules)}
                    || {HostType, Modules} <- maps:to_list(mim(gen_mod, loaded_modules_with_opts, [])),
                       is_map(Modules)]).

%% mod_event_pusher is configured per backend: its option keys are its backends.
backend_options(mod_event_pusher, Opts) when is_map(Opts) ->
    [{backend, Backend} || Backend <- maps:keys(Opts)];
backend_options(_Module, Opts) when is_map(Opts) ->
    [{Key, Value} || Key <- ?BACKEND_KEYS, {ok, Value} <- [maps:find(Key, Opts)]];
backend_options(_Module, _Opts) ->
    [].

listeners() ->
    [listener(Listener) || #{module := Module} = Listener <- opt(listen), is_atom(Module)].

listener(#{module := Module} = Listener) ->
    Handlers = case maps:get(handlers, Listener, []) of
                   List when is_list(List) -> List;
                   _ -> []
               end,
    Proto = case maps:get(proto, Listener, tcp) of
                P when is_atom(P) -> P;
                _ -> tcp
            end,
    #{module => Module,
      proto => Proto,
      tls_mode => tls(mode, Listener),
      %% MongooseIM 6.0 to 6.3 named the TLS library (fast_tls or just_tls).
      tls_module => tls(module, Listener),
      handlers => [H || #{module := H} <- Handlers, is_atom(H)]}.

tls(Key, #{tls := Tls}) when is_map(Tls) ->
    case maps:get(Key, Tls, undefined) of
        Value when is_atom(Value) -> Value;
        _ -> undefined
    end;
tls(_Key, _Listener) ->
    undefined.

%% Global pools, and the pools of each host type.
outgoing_pools() ->
    HostTypes = try host_types() catch _:_ -> [] end,
    PerHostType = [Pools || HostType <- HostTypes,
                            {ok, Pools} <- [mim(mongoose_config, lookup_opt, [{outgoing_pools, HostType}])]],
    [Type || Pools <- [opt(outgoing_pools) | PerHostType], is_list(Pools), #{type := Type} <- Pools, is_atom(Type)].

%% External components connected to this node (each domain once).
components() ->
    Domains = lists:usort(mim(mongoose_component, dirty_get_all_components, [all])),
    length([D || D <- Domains, mim(mongoose_component, lookup_component, [D, node()]) =/= []]).

%% Members of the MongooseIM cluster, as its internal database sees them (not every
%% connected Erlang node).
node_count() ->
    case opt(internal_databases) of
        #{cets := _} ->
            %% What discovery found, less what it cannot reach: a cheap local call
            %% (cets_status would ask every node, without a timeout).
            Info = mim(cets_discovery, system_info, [mongoose_cets_discovery]),
            members(maps:get(nodes, Info) -- maps:get(unavailable_nodes, Info, []));
        #{mnesia := _} ->
            members(mim(mnesia, system_info, [running_db_nodes]));
        _ ->
            undefined
    end.

members(Nodes) when is_list(Nodes) ->
    length(lists:usort([node() | Nodes])).

%% Totals from the configured instrumentation; Prometheus wins when both are set.
stanza_counts() ->
    case opt(instrumentation) of
        #{prometheus := _} -> stanza_totals(fun prometheus_total/2);
        #{exometer := _} -> stanza_totals(fun exometer_total/2);
        _ -> undefined
    end.

stanza_totals(Total) ->
    maps:from_list([{Type, Total(Event, Metric)} || {Type, Event, Metric} <- ?STANZA_METRICS]).

%% Summed over every label set (connection type, host type).
prometheus_total(Event, Metric) ->
    Name = atom_to_list(Event) ++ "_" ++ atom_to_list(Metric),
    lists:sum([round(V) || {_Labels, V} <- mim(prometheus_counter, values, [default, Name]), is_number(V)]).

%% Summed over every host prefix and connection type.
exometer_total(Event, Metric) ->
    Values = mim(exometer, get_values, [['_', Event, '_', Metric]]),
    lists:sum([N || {_Name, DataPoints} <- Values, {count, N} <- DataPoints, is_integer(N)]).

opt(Key) ->
    mim(mongoose_config, get_opt, [Key]).

%% Every call into MongooseIM. Indirect on purpose: MongooseIM is not a build
%% dependency, so neither xref nor dialyzer can know its modules.
mim(Module, Function, Args) ->
    erlang:apply(Module, Function, Args).
