-module(mongoose_system_metrics_install_tests).
-include_lib("eunit/include/eunit.hrl").

-define(M, mongoose_system_metrics_install).
-define(PA, <<"-pa /rel/lib/mongoose_system_metrics-0.1.0/ebin">>).
-define(MARKER, "## Added by mongoose_system_metrics_ctl install, removed by mongoose_system_metrics_ctl uninstall").

%% etc/vm.args as install writes it, and as uninstall writes it back (the same steps as
%% install/2 and uninstall/1, without the files).
installed(Bytes, Pa) ->
    Lines = lines(Bytes),
    Stripped = ?M:strip(Lines, ?M:blocks("vm.args", Lines)),
    iolist_to_binary([Stripped, ?M:appended(Stripped, Pa)]).

uninstalled(Bytes) ->
    Lines = lines(Bytes),
    iolist_to_binary(?M:strip(Lines, ?M:blocks("vm.args", Lines))).

lines(Bytes) ->
    binary:split(Bytes, <<"\n">>, [global]).

refused(Fun) ->
    try Fun() of
        Other -> error({not_refused, Other})
    catch
        throw:{refused, Message} -> unicode:characters_to_binary(Message)
    end.

install_appends_the_marker_and_the_pa_line_test() ->
    ?assertEqual(<<"-sname a\n" ?MARKER ".\n", ?PA/binary, "\n">>, installed(<<"-sname a\n">>, ?PA)),
    ?assertEqual(<<?MARKER ".\n", ?PA/binary, "\n">>, installed(<<>>, ?PA)).

a_file_without_a_final_newline_gets_one_and_the_marker_says_so_test() ->
    ?assertEqual(<<"-sname a\n" ?MARKER " (the newline before this line too: the file ended without one).\n",
                   ?PA/binary, "\n">>,
                 installed(<<"-sname a">>, ?PA)).

uninstall_gives_back_the_bytes_install_had_test_() ->
    [?_assertEqual(Bytes, uninstalled(installed(Bytes, ?PA)))
     || Bytes <- [<<>>, <<"\n">>, <<"-sname a\n">>, <<"-sname a">>, <<"-sname a\n\n">>,
                  <<"-sname a\n-setcookie c">>, <<"# only a comment">>]].

installing_again_replaces_our_lines_test() ->
    Other = <<"-pa /rel/lib/mongoose_system_metrics-0.0.1-old/ebin">>,
    [begin
         Twice = installed(installed(Bytes, Other), ?PA),
         ?assertEqual(installed(Bytes, ?PA), Twice),
         ?assertEqual(Bytes, uninstalled(Twice))
     end || Bytes <- [<<"-sname a\n">>, <<"-sname a">>]].

%% The newline install took is given back only when nothing of the operator's follows.
lines_added_after_our_block_are_kept_test() ->
    Installed = installed(<<"-sname a">>, ?PA),
    ?assertEqual(<<"-sname a\n+K true\n">>, uninstalled(<<Installed/binary, "+K true\n">>)),
    ?assertEqual(<<"-sname a\n\n">>, uninstalled(<<Installed/binary, "\n">>)).

blocks_are_numbered_from_one_test() ->
    Lines = lines(installed(<<"-sname a\n-setcookie c\n">>, ?PA)),
    ?assertMatch([#{line := 3, name := "mongoose_system_metrics-0.1.0", pa := ?PA, no_newline := false}],
                 ?M:blocks("vm.args", Lines)),
    ?assertEqual([], ?M:blocks("vm.args", lines(<<"-sname a\n">>))).

a_marker_without_its_pa_line_is_refused_test_() ->
    [?_assertNotEqual(nomatch, string:find(refused(fun() -> ?M:blocks("etc/vm.args", lines(Bytes)) end),
                                           "etc/vm.args line 2 is a comment of mongoose_system_metrics_ctl install"))
     || Bytes <- [<<"-sname a\n" ?MARKER ".">>,
                  <<"-sname a\n" ?MARKER ".\n-pa /x/ebin\n">>,
                  <<"-sname a\n" ?MARKER ".\n-sname b\n">>]].

our_dir_is_a_lib_directory_of_ours_test() ->
    ?assertEqual({ok, "mongoose_system_metrics-0.1.0"}, ?M:our_dir(?PA)),
    ?assertEqual({ok, "mongoose_system_metrics-1.2.3-rc.1+b"},
                 ?M:our_dir(<<"-pa\t/r/lib/mongoose_system_metrics-1.2.3-rc.1+b/ebin\r">>)),
    [?assertEqual(error, ?M:our_dir(L))
     || L <- [<<"-pa /r/lib/mongoose_system_metrics-/ebin">>,
              <<"-pa /r/lib/mongoose_system_metrics-0.1.0/priv">>,
              <<"-pa /r/lib/other-0.1.0/ebin">>,
              <<"-pa /r/lib/mongoose_system_metrics-0.1/0/ebin">>,
              <<"-pa /r/lib/mongoose_system_metrics-0.1.0/ebin /more">>,
              <<"-pz /r/lib/mongoose_system_metrics-0.1.0/ebin">>,
              <<>>]].

embedded_mode_is_found_as_words_outside_comments_test() ->
    ?assert(?M:embedded_mode(<<"-sname a\n-mode embedded\n">>)),
    ?assert(?M:embedded_mode(<<"-mode\t embedded # why\n">>)),
    ?assert(?M:embedded_mode(<<"-mode\nembedded\n">>)),
    ?assertNot(?M:embedded_mode(<<"-sname a\n-embedded\n">>)),
    ?assertNot(?M:embedded_mode(<<"# -mode embedded\n">>)),
    ?assertNot(?M:embedded_mode(<<"-mode interactive\n">>)),
    ?assertNot(?M:embedded_mode(<<>>)).

foreign_lines_name_the_application_outside_our_blocks_test() ->
    Lines = lines(<<(installed(<<"-sname a\n">>, ?PA))/binary,
                    "# mongoose_system_metrics, a comment\n-pa /opt/mongoose_system_metrics/ebin\n">>),
    Notes = ?M:foreign_lines("vm.args", Lines, ?M:blocks("vm.args", Lines)),
    ?assertEqual([<<"note: vm.args line 5 also names mongoose_system_metrics and was not added by install; "
                    "it is left as it is: -pa /opt/mongoose_system_metrics/ebin\n">>],
                 [unicode:characters_to_binary(N) || N <- Notes]).

a_path_erl_would_not_read_as_one_word_is_refused_test() ->
    ?assert(?M:vm_args_can_name("/rel/lib/mongoose_system_metrics-0.1.0/ebin")),
    [?assertNotEqual(nomatch, string:find(refused(fun() -> ?M:vm_args_can_name(P) end), "cannot name " ++ P))
     || P <- ["/my rel/ebin", "/rel#1/ebin", "/rel'/ebin", "/rel\"/ebin", "/rel\\/ebin"]].
