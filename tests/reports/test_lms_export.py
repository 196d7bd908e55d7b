"""`export --format canvas|moodle --roster`: the LMS files' documented columns, the roster's
odd cases (unicode, duplicates, Excel's BOM and `;`) and the matching rules."""

import csv
import unicodedata
import warnings

import pytest

from autograding.cli import main
from autograding.reports.export import export_outputs
from autograding.reports.grades_csv import grade_rows
from autograding.reports.lms_export import (
    CANVAS_HEADER,
    LmsSettings,
    export_for_lms,
    load_roster,
)
from autograding.reports.roster import RosterError, match_students, read_roster

A1, A2 = "01_vectorization", "02_linreg_scratch"
NFD_JOSE = unicodedata.normalize("NFD", "Núñez, José")  # combining accents, as macOS writes
CANVAS_ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01 Vectorization (4821)",
     "Linreg scratch (4822)", "Current Score", "Unposted Current Score", "Final Score"],
    ["    Points Possible", "", "", "", "", "10.00", "5.00", "(read only)", "(read only)",
     "(read only)"],
    ["Lee, Amy", "48213", "S001", "amy.lee@uni.edu", "Sec A", "", "", "", "", ""],
    [NFD_JOSE, "48214", "S002", "jnunez", "Sec A", "", "", "", "", ""],
    ["王, 芳", "48215", "S003", "wang.fang@uni.edu", "Sec B", "", "", "", "", ""],
    ["Smith, John", "48216", "S004", "jsmith1", "Sec A", "", "", "", "", ""],
    ["Smith, John", "48217", "S005", "jsmith2", "Sec B", "", "", "", "", ""],
    ["Scully, Dana", "48218", "S006", "dscully", "Sec B", "EX", "", "", "", ""],
    ["Doe, Carl", "48219", "S007", "carl", "Sec B", "7", "", "", "", ""],
]
MOODLE_EXPORT = [
    ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
     "Assignment: 01 Vectorization (Real)", "Last downloaded from this course"],
    ["Amy", "Lee", "S001", "", "", "amy.lee@uni.edu", "-", "1700000000"],
    ["José", "Núñez", "S002", "", "", "jose.nunez@uni.edu", "-", "1700000000"],
    ["芳", "王", "S003", "", "", "wang.fang@uni.edu", "-", "1700000000"],
    ["Dana", "Scully", "S006", "", "", "dscully@uni.edu", "-", "1700000000"],
]
WORKSHEET = [
    ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
     "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
     "Feedback comments"],
    ["Participant 101", "José Núñez", "jose.nunez@uni.edu", "Submitted for grading", "",
     "10.00", "Yes", "Monday, 2 October 2023, 10:00 AM", "-", ""],
    ["Participant 102", "王芳", "wang.fang@uni.edu", "Submitted for grading", "", "10.00", "Yes",
     "Monday, 2 October 2023, 11:00 AM", "-", ""],
    ["Participant 103", "Dana Scully", "dscully@uni.edu", "No submission", "", "10.00", "Yes",
     "-", "-", ""],
]


@pytest.fixture
def rows(tmp_path):
    """grades.csv's rows of a class as intake names it: lee_amy_48213 (a Canvas download
    name), jose_nunez, wang_fang (a late penalty of 1 on 02), bob (in no roster), john_smith
    (two roster rows of that name), carl (an empty folder: nothing handed in). 03 is a master
    nobody handed in."""
    from nbgrader.api import Gradebook

    from autograding.course.release import COURSE_ID
    from autograding.grading.gradebook import use_in_process_alembic_head

    use_in_process_alembic_head()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    scores = {(A1, "lee_amy_48213"): (2, 3), (A2, "lee_amy_48213"): (2, 1),
              (A1, "jose_nunez"): (2, 2), (A1, "wang_fang"): (1, 0), (A2, "wang_fang"): (2, 3),
              (A1, "bob"): (2, 0), (A1, "john_smith"): (0, 3)}
    with warnings.catch_warnings(), Gradebook(url, COURSE_ID) as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for name in (A1, A2, "03_linreg_concise"):
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            gb.add_grade_cell("t1", name, name, max_score=2, cell_type="code")
            gb.add_grade_cell("t2", name, name, max_score=3, cell_type="code")
        for student in ("lee_amy_48213", "jose_nunez", "wang_fang", "bob", "john_smith",
                        "carl"):
            gb.add_student(student)
        for (assignment, student), points in scores.items():
            gb.add_submission(assignment, student)
            for cell, score in zip(("t1", "t2"), points, strict=True):
                gb.find_grade(cell, assignment, assignment, student).auto_score = score
        gb.find_submission_notebook(A2, A2, "wang_fang").late_submission_penalty = 1.0
        gb.db.commit()
    return grade_rows(url)[1]


def write_roster(path, table, delimiter=",", bom=False, newline="\n"):
    """A roster file as an LMS or Excel saves it."""
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator=newline).writerows(table)
    return path


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def export(tmp_path, rows, table, **options):
    """Run the LMS export with these options; (its result, the LMS file's rows)."""
    roster_path = write_roster(tmp_path / "roster.csv", table)
    settings = LmsSettings(roster=roster_path, **options)
    result = export_for_lms(tmp_path, rows, settings, load_roster(settings))
    return result, read(result.path) if result.path else None


def by_name(table):
    return {unicodedata.normalize("NFC", r[0]): r for r in table[1:]}


def test_canvas_file_has_canvas_columns_roster_rows_and_the_points_possible_row(tmp_path, rows):
    result, table = export(tmp_path, rows, CANVAS_ROSTER, format="canvas")
    assert result.path == tmp_path / "canvas_grades.csv"
    assert table[0] == CANVAS_HEADER + ["01 Vectorization (4821)", "Linreg scratch (4822)"]
    assert table[1] == ["Points Possible", "", "", "", "", "10", "5"]
    assert [r[0] for r in table[2:]] == [r[0] for r in CANVAS_ROSTER[2:]], "roster order"
    grades = {unicodedata.normalize("NFC", r[0]): r[1:] for r in table[2:]}
    assert grades["Lee, Amy"] == ["48213", "S001", "amy.lee@uni.edu", "Sec A", "5", "3"]
    assert grades["Núñez, José"][4:] == ["4", ""], "matched by name; 02 not handed in: kept"
    assert grades["王, 芳"][4:] == ["1", "4"], "by e-mail; 02 is the score after the penalty"
    assert grades["Scully, Dana"][4:] == ["EX", ""], "no submission: Canvas's cell is kept"
    assert grades["Doe, Carl"][4:] == ["7", ""], "an empty folder changes nothing in Canvas"
    smiths = [r for r in table[2:] if r[0] == "Smith, John"]
    assert [r[1] for r in smiths] == ["48216", "48217"] and all(r[5:] == ["", ""] for r in smiths)
    assert (result.written, result.filled) == (5, 0)
    assert not any("Traceback" in note for note in result.notes)


def test_unmatched_students_are_listed_with_why_and_their_grades(tmp_path, rows):
    result, _ = export(tmp_path, rows, CANVAS_ROSTER, format="canvas")
    unmatched = read(tmp_path / "unmatched.csv")
    assert unmatched[0] == ["student_id", "problem", "roster_rows", A1, A2]
    listed = {r[0]: r for r in unmatched[1:]}
    assert sorted(listed) == ["bob", "john_smith"]
    assert listed["bob"][1:] == ["not in the roster", "", "2/5", "missing"]
    assert listed["john_smith"][1].startswith("ambiguous: 2 roster rows match by name")
    assert listed["john_smith"][2] == "line 6: Smith, John; line 7: Smith, John"
    assert listed["john_smith"][3] == "3/5"
    matches = result.matching.matches
    assert {s: matches[s].how for s in ("lee_amy_48213", "jose_nunez", "wang_fang", "carl")} == {
        "lee_amy_48213": "Canvas download name", "jose_nunez": "name", "wang_fang": "e-mail",
        "carl": "id"}


def test_missing_zero_fills_missing_work_but_never_a_contested_row(tmp_path, rows):
    result, table = export(tmp_path, rows, CANVAS_ROSTER, format="canvas", missing="zero")
    grades = by_name(table[1:])
    assert grades["Núñez, José"][5:] == ["4", "0"]
    assert grades["Scully, Dana"][5:] == ["0", "0"]
    assert grades["Doe, Carl"][5:] == ["0", "0"]
    assert all(r[5:] == ["", ""] for r in table[2:] if r[0] == "Smith, John")
    assert result.filled == 5


def test_points_percent_and_scaled_to_canvas_points_possible(tmp_path, rows):
    result, table = export(tmp_path, rows, CANVAS_ROSTER, format="canvas", points="lms")
    assert by_name(table[1:])["Lee, Amy"][5:] == ["10", "3"]
    assert by_name(table[1:])["王, 芳"][5:] == ["2", "4"]
    result, table = export(tmp_path, rows, CANVAS_ROSTER, format="canvas", points="percent")
    assert by_name(table[1:])["Lee, Amy"][5:] == ["100", "60"]
    assert any("above the LMS's points possible" in note for note in result.notes)


def test_excel_roster_with_bom_semicolons_crlf_and_decimal_commas_reads_the_same(tmp_path,
                                                                                 rows):
    _, plain = export(tmp_path, rows, CANVAS_ROSTER, format="canvas", points="lms")
    excel = [[cell.replace("10.00", "10,00").replace("5.00", "5,00") for cell in row]
             for row in CANVAS_ROSTER]
    path = write_roster(tmp_path / "excel.csv", excel, delimiter=";", bom=True, newline="\r\n")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfStudent;ID;")
    settings = LmsSettings("canvas", path, points="lms")
    roster = load_roster(settings)
    assert (roster.delimiter, roster.header[0]) == (";", "Student")
    result = export_for_lms(tmp_path, rows, settings, roster)
    assert read(result.path) == plain


def test_column_option_names_the_canvas_column_with_or_without_its_id(tmp_path, rows):
    table = [row[:5] + [row[5], row[6]] for row in CANVAS_ROSTER]
    table[0][5:] = ["Notebook 1 (4821)", "Notebook 2 (4822)"]
    result, out = export(tmp_path, rows, table, format="canvas",
                         columns=((A1, "Notebook 1"), (A2, "Notebook 2 (4822)")))
    assert out[0][5:] == ["Notebook 1 (4821)", "Notebook 2 (4822)"]
    assert not result.notes[1:], result.notes
    result, out = export(tmp_path, rows, table, format="canvas")
    assert out[0][5:] == [A1, A2], "unmapped: new columns named by the assignment"
    assert sum("Canvas will create a new assignment" in note for note in result.notes) == 2


def test_moodle_grade_import_file_keeps_identifier_columns_and_grade_items(tmp_path, rows):
    result, table = export(tmp_path, rows, MOODLE_EXPORT, format="moodle")
    assert result.path == tmp_path / "moodle_grades.csv"
    assert table[0] == ["First name", "Last name", "ID number", "Email address",
                        "Assignment: 01 Vectorization (Real)", A2]
    assert table[1:] == [
        ["Amy", "Lee", "S001", "amy.lee@uni.edu", "-", ""],
        ["José", "Núñez", "S002", "jose.nunez@uni.edu", "4", ""],
        ["芳", "王", "S003", "wang.fang@uni.edu", "1", "4"],
        ["Dana", "Scully", "S006", "dscully@uni.edu", "-", ""]]
    assert "lee_amy_48213" in {m.student_id for m in result.matching.problems}
    assert any("map from 'ID number'" in note for note in result.notes)


def test_moodle_worksheet_gets_its_grade_column_filled_and_nothing_else(tmp_path, rows):
    with pytest.raises(RosterError, match="--column ASSIGNMENT=Grade"):
        export(tmp_path, rows, WORKSHEET, format="moodle")
    with pytest.raises(RosterError, match="its only grade column is 'Grade'"):
        export(tmp_path, rows, WORKSHEET, format="moodle", columns=((A1, "Feedback comments"),))
    result, table = export(tmp_path, rows, WORKSHEET, format="moodle", points="lms",
                           columns=((A1, "Grade"),))
    assert table[0] == WORKSHEET[0]
    assert [r[4] for r in table[1:]] == ["8", "2", ""]
    for written, original in zip(table[1:], WORKSHEET[1:], strict=True):
        assert written[:4] + written[5:] == original[:4] + original[5:]


@pytest.mark.parametrize("table, needle", [
    ([["Student", "SIS Login ID", "Section"], ["Lee, Amy", "amy", "A"]],
     "not a Canvas gradebook export (it needs the columns Student, ID"),
    ([["Name", "Section"], ["Lee, Amy", "A"]], "no column to match students by"),
])
def test_a_roster_without_the_needed_columns_is_a_clear_error(tmp_path, table, needle):
    path = write_roster(tmp_path / "roster.csv", table)
    with pytest.raises(RosterError) as error:
        load_roster(LmsSettings("canvas", path))
    assert str(path) in str(error.value) and needle in str(error.value)


def test_unreadable_rosters_are_clear_errors(tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("Student,ID\nNúñez,1\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8 text; save it again as CSV UTF-8"):
        read_roster(latin)
    with pytest.raises(RosterError, match="no such file"):
        read_roster(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(RosterError, match="empty"):
        read_roster(tmp_path / "empty.csv")


def test_moodle_file_refuses_rows_without_an_identifier(tmp_path, rows):
    table = [row[:] for row in MOODLE_EXPORT]
    table[2][2] = table[3][5] = ""
    with pytest.raises(RosterError, match="gives a row without one the user of the row before"):
        export(tmp_path, rows, table, format="moodle")


def test_earlier_tiers_win_and_a_row_two_students_match_is_chosen_for_neither(tmp_path):
    path = write_roster(tmp_path / "r.csv", [
        ["Student", "ID", "SIS Login ID", "Section"],
        ["Smith, John", "1", "jsmith", "A"], ["Smith, John", "2", "john", "A"],
        ["Lee, Amy", "48213", "amy", "A"], ["Ng, Bo", "3", "", "A"]])
    students = {"jsmith": {}, "amy": {}, "lee_amy_48213": {}, "s99": {"email": "BO@x.org"},
                "ng_bo": {}}
    matching = match_students(read_roster(path), students)
    matches = matching.matches
    assert (matches["jsmith"].row.line, matches["jsmith"].how) == (2, "id")
    assert matches["amy"].problem.startswith("shared: roster line 4 (Lee, Amy) matches 2")
    assert matches["lee_amy_48213"].problem == matches["amy"].problem
    assert matches["s99"].problem == "not in the roster", "no e-mail column: nothing to match"
    assert (matches["ng_bo"].row.line, matches["ng_bo"].how) == (5, "name")
    assert matching.contested() == {4}


def test_gradebook_email_matches_case_insensitively(tmp_path):
    path = write_roster(tmp_path / "r.csv", [["Full name", "Email address"],
                                             ["Bo Ng", "Bo.Ng@Uni.edu"]])
    matching = match_students(read_roster(path), {"s99": {"email": "bo.ng@uni.EDU"}})
    assert (matching.matches["s99"].row.line, matching.matches["s99"].how) == (2, "e-mail")


def test_csv_format_with_a_roster_writes_grades_csv_unchanged_and_unmatched_csv(tmp_path,
                                                                               rows):
    result, table = export(tmp_path, rows, CANVAS_ROSTER, format="csv")
    assert result.path is None and table is None
    assert not (tmp_path / "canvas_grades.csv").exists()
    assert [r[0] for r in read(tmp_path / "unmatched.csv")[1:]] == ["bob", "john_smith"]


def test_export_command_writes_the_lms_file_and_lists_unmatched_students(tmp_path, rows,
                                                                          capsys):
    plain = export_outputs(tmp_path / "plain", f"sqlite:///{tmp_path / 'gradebook.db'}")
    roster = write_roster(tmp_path / "roster.csv", CANVAS_ROSTER)
    code = main(["export", "--out", str(tmp_path), "--format", "canvas", "--roster",
                 str(roster)])
    out, err = capsys.readouterr()
    assert code == 1, "graded students left out of the LMS file"
    assert f"canvas: {tmp_path / 'canvas_grades.csv'} (7 roster students, 5 grades" in out
    assert "bob: not in the roster" in err and "john_smith: ambiguous" in err
    assert (tmp_path / "grades.csv").read_bytes() == plain.csv_path.read_bytes()


@pytest.mark.parametrize("argv, needle", [
    (["--format", "canvas"], "--format canvas needs --roster"),
    (["--points", "lms"], "use them with --format canvas or moodle"),
    (["--format", "moodle", "--roster", "{tmp}/none.csv"], "none.csv: no such file"),
    (["--format", "canvas", "--roster", "{tmp}/r.csv", "--column", "01_vectorization"],
     "--column takes ASSIGNMENT=TITLE"),
    (["--format", "canvas", "--roster", "{tmp}/r.csv", "--column", "09_x=T"],
     "no graded assignment '09_x'"),
])
def test_export_option_errors_exit_2_without_traceback(tmp_path, rows, argv, needle, capsys):
    write_roster(tmp_path / "r.csv", CANVAS_ROSTER)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["export", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert needle.replace("{tmp}", str(tmp_path)) in err and "Traceback" not in err
