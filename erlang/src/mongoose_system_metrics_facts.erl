%% @doc What a facts source is: the behaviour, the facts map it returns, and `gather/3',
%% which builds that map from guarded getters.
%%
%% A host source, such as the MongooseIM adapter, gives what only the host knows; the VM
%% source (`mongoose_system_metrics_vm') fills in the facts the host did not give, from
%% what any BEAM node can show. `mongoose_system_metrics_collect' picks and runs them.
%%
%% The facts map (every key optional; see the core's `facts.rs'):
%% `uptime_ms', `version', `node_count', `host_types', `domain_count', `modules'
%% (`#{HostType => #{Module => Opts}}'), `listeners' (maps with `module', `proto',
%% `tls_mode', `tls_module', `handlers'), `outgoing_pools', `components', `config_file'.
-module(mongoose_system_metrics_facts).

-export([gather/3]).

-include("mongoose_system_metrics_log.hrl").

-type facts() :: #{uptime_ms => non_neg_integer(),
                   version => string() | binary(),
                   node_count => pos_integer(),
                   host_types => [term()],
                   domain_count => non_neg_integer(),
                   modules => #{term() => #{module() => term()}},
                   listeners => [listener()],
                   outgoing_pools => [atom()],
                   components => non_neg_integer(),
                   stanza_counts => #{atom() | binary() => non_neg_integer()},
                   config_file => string() | binary(),
                   client_id => binary(),
                   node => binary()}.
-type listener() :: #{module => module() | undefined,
                      proto := tcp | udp,
                      tls_mode => tls | starttls | starttls_required | undefined,
                      tls_module => atom(),
                      handlers => [module()]}.
-type getter() :: {atom(), fun(() -> term())}.
-export_type([facts/0, listener/0, getter/0]).

%% Whether the source can run in this node (its host's modules are loaded).
-callback available() -> boolean().
%% The facts it can see.
-callback facts() -> facts().
%% Whether the host's configuration enables the service, or `unknown'.
-callback service_configured() -> boolean() | unknown.
%% The host's own id for the cluster, which reports then carry as their client id.
-callback client_id() -> binary() | undefined.
%% The members of the host's own cluster (its database's), this node included.
-callback cluster_nodes() -> [node()] | undefined.
%% Where the host's own configuration sends reports, as a base URL.
-callback google_analytics_url() -> string() | binary() | undefined.
-optional_callbacks([client_id/0, cluster_nodes/0, google_analytics_url/0]).

%% @doc Runs each getter whose key is not in `Skip' and gathers the results into facts.
%% A getter that crashes, or answers `undefined', leaves its fact out; a crash is logged
%% once per source, fact and reason, never with the values (they may be private).
-spec gather(module(), [getter()], [atom()]) -> facts().
gather(Source, Getters, Skip) ->
    maps:from_list([{Key, Value} || {Key, Get} <- Getters,
                                    not lists:member(Key, Skip),
                                    Value <- [get_fact(Source, Key, Get)],
                                    Value =/= undefined]).

get_fact(Source, Key, Get) ->
    try
        Get()
    catch
        Class:Reason ->
            ?MSM_LOG_ONCE(#{what => system_metrics_fact_failed, source => Source, fact => Key,
                            reason => {Class, mongoose_system_metrics_notice:failure(Reason)}}),
            undefined
    end.
