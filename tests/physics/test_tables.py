"""The one CSV reader of package data and user tables (mcprop.physics.tables)."""

from mcprop.physics.tables import csv_rows, data_lines, package_csv


def test_comments_and_blank_lines_are_left_out_with_their_numbers():
    text = "# source\nnh,counts\n\n   \n  # indented comment\n92,3\n93,5 # not a comment\n"
    assert data_lines(text) == [(2, "nh,counts"), (6, "92,3"), (7, "93,5 # not a comment")]
    assert csv_rows(text) == [["nh", "counts"], ["92", "3"], ["93", "5 # not a comment"]]


def test_empty_and_comment_only_texts_have_no_rows():
    assert csv_rows("") == []
    assert csv_rows("# nothing\n\n#\n") == []


def test_package_table_of_the_phase2_spectrum():
    # data/borexino_phase2_spectrum.csv: two comment lines, a header, unit bins N_h 92-950
    header, *rows = package_csv("borexino_phase2_spectrum.csv")
    assert header == ["nh", "counts", "best_fit_counts"]
    assert len(rows) == 950 - 92 + 1
    assert rows[0][:2] == ["92", "11475"] and rows[-1][0] == "950"
