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

-export([available/0, facts/0, service_configured/0, client_id/0, cluster_nodes/0,
         google_analytics_url/0, config_spec/0, as_parsed/1]).

-include("mongoose_system_metrics_log.hrl").

%% The stanza counters of each MongooseIM 6.x release, newest first: for each stanza type
%% (its direction and kind) an exometer name pattern or a Prometheus counter name. The
%% first scheme whose six counters all exist in the node is the node's. "Sent" counts what
%% clients send in, "Received" what the server sends out, as in MongooseIM's own report.
-define(STANZA_TYPES, [{xmppMessageSent, in, message}, {xmppMessageReceived, out, message},
                       {xmppIqSent, in, iq}, {xmppIqReceived, out, iq},
                       {xmppPresenceSent, in, presence}, {xmppPresenceReceived, out, presence}]).
-define(EXOMETER_SCHEMES,
        [%% 6.4 and later: [HostType, xmpp_element_in, ConnectionType, message_count].
         fun(_Type, Dir, Kind) -> ['_', name([xmpp_element_, Dir]), '_', name([Kind, '_count'])] end,
         %% 6.3: [HostType, c2s_element_in, message_count].
         fun(_Type, Dir, Kind) -> ['_', name([c2s_element_, Dir]), name([Kind, '_count'])] end,
         %% 6.0 to 6.2: [Host, xmppMessageSent].
         fun(Type, _Dir, _Kind) -> ['_', Type] end]).
-define(PROMETHEUS_SCHEMES,
        [%% 6.4 and later, then 6.3.
         fun(_Type, Dir, Kind) -> lists:concat([xmpp_element_, Dir, '_', Kind, '_count']) end,
         fun(_Type, Dir, Kind) -> lists:concat([c2s_element_, Dir, '_', Kind, '_count']) end]).

-define(AS_PARSED, fun ?MODULE:as_parsed/1).

%% The option keys a module's `config_metrics/1' may report.
-define(BACKEND_KEYS, [backend, online_backend, api_version]).

%% @doc True when MongooseIM's configuration is loaded in this node. MongooseIM loads its
%% config module long before services start; without it, nothing is called (a call to a
%% missing module would search the code path and raise, on every use).
-spec available() -> boolean().
available() ->
    erlang:module_loaded(mongoose_config) andalso
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
       {client_id, fun client_id/0}],
      []).

%% @doc MongooseIM's global `google_analytics_url' key, which its own service reads (its
%% test suites set it to a server of theirs), as a base URL: a full collect URL loses its
%% `/mp/collect'.
-spec google_analytics_url() -> string() | undefined.
google_analytics_url() ->
    case mim(mongoose_config, lookup_opt, [google_analytics_url]) of
        {ok, Url} when is_list(Url); is_binary(Url) ->
            Text = unicode:characters_to_list(Url),
            case lists:suffix("/mp/collect", Text) of
                true -> lists:sublist(Text, length(Text) - length("/mp/collect"));
                false -> Text
            end;
        _ ->
            undefined
    end.

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
              <<"tracking_id">> => tracking_id_spec(),
              <<"google_analytics_url">> => option(string, url),
              <<"report_file">> => NonEmpty,
              <<"ca_bundle">> => NonEmpty},
            []).

%% MongooseIM 6.0 sent Universal Analytics hits: its `tracking_id' was a "UA-..." string,
%% and its configuration files still say so. From 6.1 it is a GA4 `id' and `secret'.
tracking_id_spec() ->
    case application:get_key(mongooseim, vsn) of
        {ok, "6.0." ++ _} -> option(string, non_empty);
        _ -> section(#{<<"id">> => option(string, non_empty), <<"secret">> => option(string, non_empty)}, all)
    end.

%% #section{items, validate_keys, required, validate, format_items, process, defaults,
%%          wrap, include}
section(Items, Required) ->
    {section, Items, any, Required, any, map, ?AS_PARSED, #{}, default, when_present}.

%% #option{type, validate, process, wrap}
option(Type, Validate) ->
    {option, Type, Validate, ?AS_PARSED, default}.

%% @doc The `process' step of every node of the spec: the value as parsed. MongooseIM's
%% own default for the field differs between releases (`undefined' up to 6.3.0, `[]'
%% from 6.3.1, and neither release accepts the other's), while every 6.x parser applies a
%% one-argument function.
-spec as_parsed(term()) -> term().
as_parsed(Value) ->
    Value.

%% Facts.

%% @doc MongooseIM's persistent cluster id, shared by every node (`ephemeral-' ids mean
%% no durable storage): the client id of the whole cluster, as in MongooseIM's own report.
-spec client_id() -> binary() | undefined.
client_id() ->
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

%% Per host type, the modules enabled there, each with the options MongooseIM's own
%% report gives for it: what its `config_metrics/1' answers (the callback of MongooseIM's
%% `mongoose_module_metrics' behaviour), or none. Only the option keys a report can
%% carry are handed on, and the core names only known values of them. A host type whose
%% modules are not a map is left out, not the others.
modules() ->
    maps:from_list([{HostType, maps:map(fun(Module, _Opts) -> config_metrics(Module, HostType) end, Modules)}
                    || {HostType, Modules} <- maps:to_list(mim(gen_mod, loaded_modules_with_opts, [])),
                       is_map(Modules)]).

%% A module enabled on a host type is loaded; looking for others on the code path would
%% cost a search of every directory.
config_metrics(Module, HostType) ->
    case erlang:function_exported(Module, config_metrics, 1) of
        true ->
            try Module:config_metrics(HostType) of
                Pairs when is_list(Pairs) -> [{Key, Value} || {Key, Value} <- Pairs, lists:member(Key, ?BACKEND_KEYS)];
                _ -> []
            catch
                _:_ -> []
            end;
        false ->
            []
    end.

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

%% The pools of the `outgoing_pools' section, as MongooseIM's own report counts them.
outgoing_pools() ->
    [Type || #{type := Type} <- opt(outgoing_pools), is_atom(Type)].

%% External components connected to this node (each domain once); their registry was in
%% ejabberd_router before MongooseIM 6.2.
components() ->
    Registry = case code:ensure_loaded(mongoose_component) of
                   {module, _} -> mongoose_component;
                   {error, _} -> ejabberd_router
               end,
    Domains = lists:usort(mim(Registry, dirty_get_all_components, [all])),
    length([D || D <- Domains, mim(Registry, lookup_component, [D, node()]) =/= []]).

node_count() ->
    case cluster_nodes() of
        undefined -> undefined;
        Nodes -> length(Nodes)
    end.

%% @doc The members of the MongooseIM cluster, this node included, as its internal
%% database sees them (not every connected Erlang node), or `undefined' without one.
-spec cluster_nodes() -> [node()] | undefined.
cluster_nodes() ->
    %% Before 6.2 there was no internal_databases section: Mnesia was the cluster's.
    case mim(mongoose_config, get_opt, [internal_databases, #{mnesia => #{}}]) of
        #{cets := _} ->
            %% What discovery found, less what it cannot reach: a call to the local
            %% discovery process (cets_status would ask every node, without a timeout).
            Info = mim(cets_discovery, system_info, [mongoose_cets_discovery]),
            with_self(maps:get(nodes, Info) -- maps:get(unavailable_nodes, Info, []));
        #{mnesia := _} ->
            with_self(mim(mnesia, system_info, [running_db_nodes]));
        _ ->
            undefined
    end.

with_self(Nodes) when is_list(Nodes) ->
    lists:usort([node() | Nodes]).

%% Totals from the configured instrumentation, Prometheus first, as MongooseIM reads them.
%% Before 6.3 there was no instrumentation section and the counters were exometer's.
%% Without a counting instrumentation the fact is left out, as MongooseIM sends none;
%% when no known name matches, it is left out and the reason logged once: never a zero
%% that was not read.
stanza_counts() ->
    case mim(mongoose_config, lookup_opt, [instrumentation]) of
        {ok, #{prometheus := _}} -> stanza_totals(prometheus, ?PROMETHEUS_SCHEMES, fun prometheus_total/1);
        {ok, #{exometer := _}} -> stanza_totals(exometer, ?EXOMETER_SCHEMES, fun exometer_total/1);
        {ok, _} -> undefined;
        {error, not_found} -> stanza_totals(exometer, ?EXOMETER_SCHEMES, fun exometer_total/1)
    end.

stanza_totals(Backend, [], _Read) ->
    ?MSM_LOG_ONCE(#{what => system_metrics_stanza_counters_not_found, backend => Backend,
                    text => <<"none of the stanza counters of MongooseIM 6.x is in this node; "
                              "xmpp_stanza_count is left out">>}),
    undefined;
stanza_totals(Backend, [Scheme | Older], Read) ->
    Totals = [{Type, Read(Scheme(Type, Dir, Kind))} || {Type, Dir, Kind} <- ?STANZA_TYPES],
    case lists:all(fun({_, Total}) -> Total =/= not_found end, Totals) of
        true -> maps:from_list([{Type, N} || {Type, {ok, N}} <- Totals]);
        false -> stanza_totals(Backend, Older, Read)
    end.

name(Parts) ->
    list_to_atom(lists:concat(Parts)).

%% Summed over every label set (host type, connection type); not_found when MongooseIM
%% declared no such counter (its values alone cannot tell: an unknown name has none).
prometheus_total(Name) ->
    case mim(prometheus_metric, check_mf_exists, [prometheus_counter_table, default, Name]) of
        false -> not_found;
        _ -> {ok, lists:sum([round(V) || {_Labels, V} <- mim(prometheus_counter, values, [default, Name]),
                                         is_number(V)])}
    end.

%% Summed over every name the pattern matches (host types, connection types; exometer
%% matches names that start with the pattern, as in MongooseIM's own collector).
exometer_total(Pattern) ->
    case mim(exometer, get_values, [Pattern]) of
        [] -> not_found;
        Values -> {ok, lists:sum([N || {_Name, DataPoints} <- Values, {count, N} <- DataPoints, is_integer(N)])}
    end.

opt(Key) ->
    mim(mongoose_config, get_opt, [Key]).

%% Every call into MongooseIM. Indirect on purpose: MongooseIM is not a build
%% dependency, so neither xref nor dialyzer can know its modules.
mim(Module, Function, Args) ->
    erlang:apply(Module, Function, Args).
