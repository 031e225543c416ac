"""Tests for camino.data: real bytes in real files, nothing mocked."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camino.data import check_same_columns, read_table, write_table
from camino.errors import DataError

NAME = "data/train.csv"
IRIS = b"sepal_length,sepal_width,species\n5.1,3.5,setosa\n6.2,2.9,versicolor\n"


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "train.csv"
    path.write_bytes(content)
    return path


def read_error(tmp_path: Path, content: bytes, required: Sequence[str] = ()) -> str:
    with pytest.raises(DataError) as caught:
        read_table(write(tmp_path, content), name=NAME, required=required)
    return str(caught.value)


# --- what reads ---------------------------------------------------------------


def test_clean_file_gets_pandas_default_dtypes(tmp_path: Path) -> None:
    content = b"sepal_length,petals,species,ok\n5.1,3,setosa,True\n6.2,4,,False\n"

    frame = read_table(write(tmp_path, content))

    assert list(frame.columns) == ["sepal_length", "petals", "species", "ok"]
    assert frame["sepal_length"].dtype == np.float64
    assert frame["petals"].dtype == np.int64
    assert frame["ok"].dtype == bool
    assert not pd.api.types.is_numeric_dtype(frame["species"])
    assert frame["species"].iloc[0] == "setosa"
    assert pd.isna(frame["species"].iloc[1])  # an empty cell is NaN


def test_c13_leading_bom_is_stripped(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, b"\xef\xbb\xbf" + IRIS), required=["species"])

    assert list(frame.columns) == ["sepal_length", "sepal_width", "species"]
    assert frame["sepal_length"].dtype == np.float64
    assert frame["sepal_length"].tolist() == [5.1, 6.2]


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_windows_and_old_mac_line_ends_read_like_unix(
    tmp_path: Path, newline: bytes
) -> None:
    expected = read_table(write(tmp_path, IRIS))

    frame = read_table(write(tmp_path, IRIS.replace(b"\n", newline)))

    pd.testing.assert_frame_equal(frame, expected)


def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path: Path) -> None:
    content = b'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n'

    frame = read_table(write(tmp_path, content))

    assert frame["text"].tolist() == ["a, b", 'say "hi"', "two\nlines"]


def test_blank_lines_are_skipped_but_a_quoted_empty_value_is_a_row(
    tmp_path: Path,
) -> None:
    frame = read_table(write(tmp_path, b'\na\n1\n\n \t\n""\n3\n'))

    assert frame["a"].tolist()[::2] == [1, 3]
    assert math.isnan(frame["a"].iloc[1])


def test_values_are_not_stripped(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, b"city,n\n New York,1\nParis ,2\n"))

    assert frame["city"].tolist() == [" New York", "Paris "]


def test_a_text_column_keeps_what_looks_like_a_number(tmp_path: Path) -> None:
    content = b"patient,age\n007,40\n12,51\n"

    frame = read_table(write(tmp_path, content), text=["patient"])

    assert frame["patient"].tolist() == ["007", "12"]
    assert frame["age"].dtype == np.int64


def test_c16_a_declared_separator_and_decimal_comma_give_numbers(
    tmp_path: Path,
) -> None:
    content = b"sepal_length;sepal_width;species\n5,1;3,5;setosa\n6,2;2,9;versicolor\n"

    frame = read_table(write(tmp_path, content), delimiter=";", decimal=",")

    assert frame["sepal_length"].dtype == np.float64
    assert frame["sepal_length"].tolist() == [5.1, 6.2]


def test_c16_a_declared_separator_still_counts_fields(tmp_path: Path) -> None:
    content = b"a;b\n1;2\n3;4;5\n"

    with pytest.raises(DataError, match="line 3: 3 fields, expected 2"):
        read_table(write(tmp_path, content), name=NAME, delimiter=";")


def test_display_name_defaults_to_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"

    with pytest.raises(DataError, match=r"absent\.csv: file not found"):
        read_table(str(path))


# --- what does not read: one row per CASES input and per rule ----------------

IRIS_TEXT = IRIS.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            IRIS_TEXT.encode("utf-16"),
            f"{NAME}: not UTF-8 (looks like UTF-16); re-save it as 'CSV UTF-8'",
            id="C13-2-utf16-bom",
        ),
        pytest.param(
            IRIS_TEXT.encode("utf-16-le"),
            f"{NAME}: not UTF-8 (looks like UTF-16)",
            id="utf16-no-bom",
        ),
        pytest.param(
            IRIS_TEXT.replace(",", "\t").encode("utf-16-be"),
            f"{NAME}: not UTF-8 (looks like UTF-16)",
            id="excel-unicode-text",
        ),
        pytest.param(
            IRIS_TEXT.encode("utf-32"),
            f"{NAME}: not UTF-8 (looks like UTF-32)",
            id="utf32",
        ),
        pytest.param(
            b"\xef\xbb\xbf" + IRIS + b"\xef\xbb\xbf6.0,3.0,virginica\n",
            f"{NAME} line 4: unexpected byte-order mark (were two files concatenated?)",
            id="C13-3-concatenated",
        ),
        pytest.param(
            "a,b\n1,x\n2,caf\xe9\n".encode("latin-1"),
            f"{NAME} line 3: not UTF-8 (byte 0xE9 at byte offset 13",
            id="latin-1",
        ),
        pytest.param(
            b"a,b\n1,2\n3,\x004\n",
            f"{NAME} line 3: contains a NUL byte",
            id="nul-byte",
        ),
        pytest.param(
            b",sepal_length,petal_length,species\n"
            b"0,5.1,1.4,setosa\n1,7.0,4.7,versicolor\n",
            f"{NAME}: column 1 has no name (looks like a saved row index); "
            "write the file with index=False",
            id="C14-index-column",
        ),
        pytest.param(
            b"Unnamed: 0,a\n0,1\n",
            f"{NAME}: column 1 has no name (looks like a saved row index)",
            id="index-written-twice",
        ),
        pytest.param(
            b"a,b,\n1,2,\n",
            f"{NAME}: column 3 has no name",
            id="trailing-comma",
        ),
        pytest.param(
            b"sepal_length;sepal_width;species\n5,1;3,5;setosa\n6,2;2,9;versicolor\n",
            f"{NAME}: 1 column detected; the header contains ';' — expected ',' "
            "as the delimiter (and '.' as the decimal mark)",
            id="C16-semicolons",
        ),
        pytest.param(
            b"a\tb\n1\t2\n",
            f"{NAME}: 1 column detected; the header contains a tab",
            id="tabs",
        ),
        pytest.param(
            b"sepal_length, sepal_width , species\n5.1,3.5,setosa\n",
            f"{NAME}: header ' sepal_width ' has leading/trailing spaces; "
            "header ' species' has leading/trailing spaces",
            id="C17-header-spaces",
        ),
        pytest.param(
            b"sepal_length,species\n5.1,setosa\n5.2, setosa\n4.9,setosa\n",
            f"{NAME}: column 'species' has values that differ only by "
            "surrounding spaces (' setosa' vs 'setosa')",
            id="C17-value-spaces",
        ),
        pytest.param(
            "x,species\n1,virginica\n2,virginica\xa0\n".encode(),
            f"{NAME}: column 'species' has values that differ only by "
            "surrounding spaces ('virginica' vs 'virginica\\xa0')",
            id="no-break-space",
        ),
        pytest.param(
            b"a,b,a\n1,2,3\n",
            f"{NAME}: the header repeats column names ('a' is columns 1 and 3)",
            id="duplicate-header",
        ),
        pytest.param(
            b"a,b\n1,2\n3,4,5\n",
            f"{NAME} line 3: 3 fields, expected 2 like the header",
            id="row-too-long",
        ),
        pytest.param(
            b'a,b\n1,"x\ny"\n\n3\n',
            f"{NAME} line 5: 1 field, expected 2 like the header",
            id="row-too-short-after-multiline-field",
        ),
        pytest.param(
            b'a,b\n1,"x\n2,3\n',
            f"{NAME} line 2: a quoted field starts here and is never closed",
            id="unclosed-quote",
        ),
        pytest.param(b"", f"{NAME}: has no rows", id="empty"),
        pytest.param(b"\xef\xbb\xbf\n\n", f"{NAME}: has no rows", id="bom-only"),
        pytest.param(b"a,b\n", f"{NAME}: has no rows, only a header", id="header"),
    ],
)
def test_bad_file_is_a_data_error_naming_file_and_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    assert read_error(tmp_path, content).startswith(message)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        read_table(tmp_path / "train.csv", name=NAME)

    assert str(caught.value) == (
        f"{NAME}: file not found (expected a CSV with a header row)"
    )


@pytest.mark.parametrize(
    ("required", "message"),
    [
        (
            ["species"],
            f"{NAME}: column 'species' is missing; "
            "the columns are: sepal_length, sepal_width",
        ),
        (
            ["Sepal_Width", "target"],
            f"{NAME}: columns 'Sepal_Width', 'target' are missing "
            "(did you mean 'sepal_width'?); "
            "the columns are: sepal_length, sepal_width",
        ),
    ],
)
def test_required_column_missing(
    tmp_path: Path, required: list[str], message: str
) -> None:
    content = b"sepal_length,sepal_width\n5.1,3.5\n"

    assert read_error(tmp_path, content, required=required) == message


def test_long_text_field_reads(tmp_path: Path) -> None:
    # Longer than the csv module's default 128 KiB field limit.
    text = "x" * 200_000

    frame = read_table(write(tmp_path, f"id,text\n1,{text}\n".encode()))

    assert frame["text"].iloc[0] == text


# --- write_table ----------------------------------------------------------------

FLOATS = st.floats(allow_nan=True, allow_infinity=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    columns=st.integers(1, 3).flatmap(
        lambda n: st.lists(
            st.lists(FLOATS, min_size=n, max_size=n), min_size=1, max_size=8
        )
    )
)
def test_float_round_trip_is_exact(tmp_path: Path, columns: list[list[float]]) -> None:
    original = pd.DataFrame(columns, columns=[f"c{i}" for i in range(len(columns[0]))])
    path = tmp_path / "out.csv"

    write_table(original, path)
    back = read_table(path)

    assert list(back.columns) == list(original.columns)
    for column in original.columns:
        expected = original[column].to_numpy(dtype=np.float64)
        got = back[column].to_numpy(dtype=np.float64)
        assert back[column].dtype == np.float64
        assert np.array_equal(got, expected, equal_nan=True)
        numbers = ~np.isnan(expected)
        assert np.array_equal(np.signbit(got[numbers]), np.signbit(expected[numbers]))


def test_mixed_frame_round_trips(tmp_path: Path) -> None:
    original = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "x": [0.1 + 0.2, math.pi, -1e-300],
            "label": ["a, b", 'say "hi"', "two\nlines"],
        }
    )
    path = tmp_path / "out.csv"

    write_table(original, path)

    pd.testing.assert_frame_equal(read_table(path), original, check_dtype=False)
    assert read_table(path)["n"].dtype == np.int64


def test_written_bytes_are_plain_and_deterministic(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]}, index=[7, 9])
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"

    write_table(frame, first)
    write_table(frame, second)

    assert first.read_bytes() == b"a,b\n1.5,x\n2.0,y\n"  # UTF-8, no BOM, no index
    assert second.read_bytes() == first.read_bytes()


def test_write_leaves_only_the_target(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"old\n")

    write_table(pd.DataFrame({"a": [1]}), path)

    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert path.read_bytes() == b"a\n1\n"


@pytest.mark.parametrize(
    "columns", [["Unnamed: 0", "a"], ["a", " b"], ["a", "a"], ["", "a"]]
)
def test_write_refuses_a_header_read_table_would_refuse(
    tmp_path: Path, columns: list[str]
) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"old\n")

    with pytest.raises(DataError, match="cannot write column names"):
        write_table(pd.DataFrame([[1, 2]], columns=columns), path)

    assert path.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_reader_never_sees_a_half_written_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    frames = [pd.DataFrame({"x": np.arange(50_000) * k + 0.5}) for k in (1, 3)]
    versions = set()
    for frame in frames:
        write_table(frame, path)
        versions.add(path.read_bytes())
    done = threading.Event()

    def rewrite() -> None:
        for round_ in range(6):
            write_table(frames[round_ % 2], path)
        done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    seen = []
    while not done.is_set():
        seen.append(path.read_bytes())
    writer.join()

    assert seen and all(content in versions for content in seen)


# --- check_same_columns ---------------------------------------------------------


def test_same_columns_in_any_order_apart_from_ignored() -> None:
    train = pd.DataFrame(columns=["a", "b", "species"])
    hidden = pd.DataFrame(columns=["b", "a"])

    check_same_columns(train, hidden, "data/train.csv", "test.csv", ignore=["species"])


def test_different_columns_show_a_diff() -> None:
    train = pd.DataFrame(columns=["a", "x", "species"])
    validate = pd.DataFrame(columns=["a", "y", "species"])

    with pytest.raises(DataError) as caught:
        check_same_columns(
            train, validate, "data/train.csv", "data/validate.csv", ["species"]
        )

    assert str(caught.value).startswith(
        "data/train.csv and data/validate.csv have different columns: "
        "only in data/train.csv: x; only in data/validate.csv: y"
    )


def test_c14_index_column_shows_in_the_diff() -> None:
    train = pd.DataFrame(columns=["Unnamed: 0", "sepal_length", "species"])
    test = pd.DataFrame(columns=["sepal_length"])

    with pytest.raises(DataError, match=r"only in train\.csv: Unnamed: 0; give"):
        check_same_columns(train, test, "train.csv", "test.csv", ignore=["species"])
