-module(mongoose_system_metrics_notice_tests).
-include_lib("eunit/include/eunit.hrl").

-define(M, mongoose_system_metrics_notice).

has(Text, Needle) ->
    string:find(Text, Needle) =/= nomatch.

transparency_text_names_the_docs_the_file_and_the_switches_test() ->
    Text = ?M:transparency_text(on, <<"/var/log/mongooseim/system_metrics_report.json">>),
    ?assert(is_binary(Text)),
    [?assert(has(Text, Needle)) || Needle <- ["MongooseIM docs", "doc/privacy.md",
                                              "/var/log/mongooseim/system_metrics_report.json",
                                              "report = true", "report = false"]].

local_mode_text_says_nothing_is_sent_test() ->
    Text = ?M:transparency_text(local, <<"/var/log/r.json">>),
    [?assert(has(Text, Needle)) || Needle <- ["MongooseIM docs", "nothing is sent", "/var/log/r.json", "report = false"]].

disabled_text_says_how_to_silence_it_test() ->
    Text = ?M:disabled_text(),
    [?assert(has(Text, Needle)) || Needle <- ["MongooseIM docs", "[services.service_mongoose_system_metrics]",
                                              "report = false"]].

format_report_puts_the_text_first_test() ->
    {Format, Args} = ?M:format_report(#{what => x, text => <<"hello">>}),
    ?assertEqual("hello #{what => x}", lists:flatten(io_lib:format(Format, Args))),
    {Format2, Args2} = ?M:format_report(#{what => y}),
    ?assertEqual("#{what => y}", lists:flatten(io_lib:format(Format2, Args2))).
