%% @doc The MongooseIM node both implementations report on in `make bench': a small or a
%% large deployment's configuration, set in the MongooseIM stand-ins of
%% `tests/mongooseim_SUITE_data', with its modules as stub modules declaring the
%% behaviours MongooseIM 6.3's own modules declare, and exometer's stanza counters.
-module(msm_bench_node).
-export([set/2, host_types/1]).

%% {Module, declares mongoose_module_metrics, options its config_metrics/1 reports}: the
%% default configuration of a MongooseIM 6.3 release.
-define(SMALL_MODULES,
        [{mod_disco, true, []}, {mod_roster, true, [backend]}, {mod_vcard, true, [backend]},
         {mod_ping, false, []}, {mod_muc, true, [backend, online_backend]}, {mod_presence, false, []},
         {mod_offline, true, [backend]}, {mod_last, true, [backend]}, {mod_privacy, true, [backend]},
         {mod_blocking, true, []}, {mod_carboncopy, true, []}, {mod_stream_management, true, []},
         {mod_bosh, false, []}]).
%% Forty modules a large installation enables on every host type.
-define(LARGE_MODULES,
        ?SMALL_MODULES ++
        [{mod_adhoc, true, []}, {mod_amp, true, []}, {mod_auth_token, true, [backend]},
         {mod_caps, false, []}, {mod_csi, true, []}, {mod_event_pusher, true, [backend]},
         {mod_extdisco, false, []}, {mod_http_upload, true, [backend]}, {mod_inbox, true, [backend]},
         {mod_keystore, true, []}, {mod_mam, true, [backend]}, {mod_mam_pm, true, []},
         {mod_mam_rdbms_arch, true, []}, {mod_muc_light, true, [backend]}, {mod_offline_chatmarkers, true, []},
         {mod_private, true, [backend]}, {mod_pubsub, false, []}, {mod_register, true, []},
         {mod_sic, true, []}, {mod_smart_markers, false, []}, {mod_time, true, []}, {mod_version, true, []},
         {mod_websockets, false, []}, {mod_stanzaid, false, []}, {mod_blocklist, false, []},
         {mod_push_service_mongoosepush, true, [api_version]}, {mod_muc_log, true, []}]).

-define(STANZA_COUNTERS, [{c2s_element_in, message_count}, {c2s_element_in, iq_count},
                          {c2s_element_in, presence_count}, {c2s_element_out, message_count},
                          {c2s_element_out, iq_count}, {c2s_element_out, presence_count}]).

%% @doc Sets the configuration and the stand-ins' answers of a `small' node (one host type,
%% MongooseIM's default configuration) or a `large' one (1,000 host types of 40 modules,
%% 200 listeners, 100 pools), reporting to `Url' and writing its files in `LogDir'.
-spec set(small | large, #{url := string(), log_dir := file:filename()}) -> ok.
set(Size, #{url := Url, log_dir := LogDir}) ->
    Modules = case Size of small -> ?SMALL_MODULES; large -> ?LARGE_MODULES end,
    ok = load_stubs(Modules),
    HostTypes = host_types(Size),
    Options = maps:from_list([{M, maps:from_list([{K, backend_of(K)} || K <- Keys])} || {M, _, Keys} <- Modules]),
    {C2s, Pools} = case Size of small -> {1, 1}; large -> {200, 100} end,
    Listen = [#{module => mongoose_c2s_listener, proto => tcp, port => 5222 + I, tls => #{mode => starttls}}
              || I <- lists:seq(1, C2s)]
             ++ [#{module => ejabberd_cowboy, proto => tcp, port => 5280,
                   handlers => [#{module => mod_bosh}, #{module => mod_websockets},
                                #{module => mongoose_admin_api}]}],
    Config = maps:merge(#{hosts => [hd(HostTypes)], host_types => tl(HostTypes), listen => Listen,
                          outgoing_pools => [#{type => rdbms, scope => global, tag => default}
                                             || _ <- lists:seq(1, Pools)],
                          instrumentation => #{exometer => #{}},
                          internal_databases => #{cets => #{}},
                          google_analytics_url => Url ++ "/mp/collect"},
                        maps:from_list([{{modules, H}, Options} || H <- HostTypes])),
    mongoose_config:set_opts(Config),
    %% A MongooseIM node has its cluster id before services start.
    mim_fixture:set(cluster_id, <<"5b1c8a34-3d0e-4f6a-9b57-2c4e8d1f0a6b">>),
    mim_fixture:set(domains, HostTypes),
    mim_fixture:set(log_dir, LogDir),
    mim_fixture:set(exometer, [{[H, Dir, Kind], [{count, 1000}, {one, 0}]}
                               || H <- HostTypes, {Dir, Kind} <- ?STANZA_COUNTERS]),
    ok.

-spec host_types(small | large) -> [binary()].
host_types(small) -> [<<"localhost">>];
host_types(large) -> [<<"host", (integer_to_binary(I))/binary>> || I <- lists:seq(1, 1000)].

backend_of(online_backend) -> cets;
backend_of(api_version) -> v3;
backend_of(backend) -> rdbms.

%% Each module as MongooseIM builds it: `-behaviour(gen_mod)', the metrics behaviour when
%% it has one, and a config_metrics/1 reading its options the way MongooseIM's do.
load_stubs(Modules) ->
    [ok = load_stub(M, Metrics, Keys) || {M, Metrics, Keys} <- Modules, not erlang:module_loaded(M)],
    ok.

load_stub(Module, Metrics, Keys) ->
    Behaviours = [gen_mod | [mongoose_module_metrics || Metrics]],
    Source = [io_lib:format("-module(~p).~n", [Module]),
              [io_lib:format("-behaviour(~p).~n", [B]) || B <- Behaviours],
              case Keys of
                  [] -> "";
                  _ -> io_lib:format("-export([config_metrics/1]).~n"
                                     "config_metrics(HostType) -> mongoose_module_metrics:opts_for_module(HostType, ~p, ~p).~n",
                                     [Module, Keys])
              end],
    Forms = forms(lists:flatten(Source)),
    {ok, Module, Beam} = compile:forms(Forms, [return_errors]),
    {module, Module} = code:load_binary(Module, atom_to_list(Module) ++ ".erl", Beam),
    ok.

forms(Text) ->
    {ok, Tokens, _} = erl_scan:string(Text),
    [begin {ok, Form} = erl_parse:parse_form(F), Form end || F <- split_forms(Tokens, [])].

split_forms([], []) -> [];
split_forms([{dot, _} = Dot | Rest], Acc) -> [lists:reverse([Dot | Acc]) | split_forms(Rest, [])];
split_forms([T | Rest], Acc) -> split_forms(Rest, [T | Acc]).
