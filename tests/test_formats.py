"""Each format adapter reads a small fixture written in that format back exactly."""
import gzip
import json

import pytest

from recgen.data import Event, Item, MalformedRowReport, detect_format, open_source


def read_back(path, format=None):
    source = open_source(path, format)
    report = MalformedRowReport()
    events, items = list(source.events(report)), list(source.items(report))
    assert report.malformed == 0, report.describe()
    return source.format, events, items


def test_movielens_100k_fixture_reads_back_exactly(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    flags = ["0"] * 19
    flags[1] = flags[15] = "1"  # Action, Sci-Fi
    item_row = "|".join(["242", "Café Société (1995)", "01-Jan-1995", "", "http://x", *flags]) + "\n"
    plain = "|".join(["302", "Kolya (1996)", "24-Jan-1997", "", "http://y", *(["0"] * 19)]) + "\n"
    (tmp_path / "u.item").write_bytes((item_row + plain).encode("latin-1"))
    (tmp_path / "u.user").write_text("196|49|M|writer|55105\n")

    fmt, events, items = read_back(tmp_path)
    assert fmt == "movielens_100k"
    assert events == [Event("196", "242", 881250949, 3.0), Event("186", "302", 891717742, 3.0)]
    assert items == [Item("242", "Café Société (1995)", ("Action", "Sci-Fi")), Item("302", "Kolya (1996)", ())]


def test_movielens_1m_fixture_reads_back_latin1_titles_intact(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n")
    movies = "1193::Ça tourne à Manhattan (1993)::Comedy|Drama\n661::Jumanji (1995)::Adventure\n"
    (tmp_path / "movies.dat").write_bytes(movies.encode("latin-1"))

    fmt, events, items = read_back(tmp_path)
    assert fmt == "movielens_dat"
    assert events == [Event("1", "1193", 978300760, 5.0), Event("1", "661", 978302109, 3.0)]
    assert items == [Item("1193", "Ça tourne à Manhattan (1993)", ("Comedy", "Drama")),
                     Item("661", "Jumanji (1995)", ("Adventure",))]


def test_amazon_2018_fixture_with_metadata_reads_back_exactly(tmp_path):
    reviews = [
        {"overall": 5.0, "verified": True, "reviewTime": "02 28, 2014", "reviewerID": "A1",
         "asin": "B01", "style": {"Color:": " Black"}, "reviewerName": "Ann",
         "reviewText": "Warm tone, great for beginners.", "summary": "Warm tone", "unixReviewTime": 1393545600,
         "vote": "3", "image": ["https://example.invalid/1.jpg"]},
        {"overall": 2.0, "verified": False, "reviewTime": "03 16, 2013", "reviewerID": "A2",
         "asin": "B01", "summary": "Buzzes", "unixReviewTime": 1363392000},  # no reviewText
    ]
    with gzip.open(tmp_path / "Musical_Instruments.json.gz", "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(r) + "\n" for r in reviews)
    meta = {"asin": "B01", "title": "Pop Filter", "category": ["Musical Instruments", "Microphones"],
            "description": ["Double screen.", "Fits any stand."], "brand": "Acme"}
    with gzip.open(tmp_path / "meta_Musical_Instruments.json.gz", "wt", encoding="utf-8") as stream:
        stream.write(json.dumps(meta) + "\n")

    fmt, events, items = read_back(tmp_path)
    assert fmt == "amazon_json"
    assert events == [Event("A1", "B01", 1393545600, 5.0, "Warm tone, great for beginners.", "Warm tone"),
                      Event("A2", "B01", 1363392000, 2.0, None, "Buzzes")]
    assert items == [Item("B01", "Pop Filter", ("Musical Instruments", "Microphones"),
                          "Double screen. Fits any stand. Brand: Acme")]


def test_amazon_2014_metadata_python_literals_are_read(tmp_path):
    (tmp_path / "reviews.json").write_text(json.dumps(
        {"reviewerID": "A1", "asin": "B02", "overall": 4.0, "unixReviewTime": 1, "summary": "ok"}) + "\n")
    (tmp_path / "meta.json").write_text(
        "{'asin': 'B02', 'title': 'Capo', 'categories': [['Musical Instruments', 'Accessories']]}\n")
    _, _, items = read_back(tmp_path)
    assert items == [Item("B02", "Capo", ("Musical Instruments", "Accessories"), "")]


def test_movielens_csv_quoted_titles_and_tags_as_summary(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,10,3.0,200\n")
    (tmp_path / "movies.csv").write_text(
        'movieId,title,genres\n10,"American President, The (1995)",Comedy|Romance\n11,Lost,(no genres listed)\n')
    (tmp_path / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,10,funny,101\n1,10,witty,102\n")
    fmt, events, items = read_back(tmp_path)
    assert fmt == "movielens_csv"
    assert events == [Event("1", "10", 100, 4.5, None, "funny, witty"), Event("2", "10", 200, 3.0)]
    assert items == [Item("10", "American President, The (1995)", ("Comedy", "Romance")), Item("11", "Lost", ())]


def test_generic_csv_with_iso_times_optional_columns_and_items(tmp_path):
    (tmp_path / "events.csv").write_text(
        "item_id,user_id,timestamp,text\n"
        'i9,u1,2024-03-01T10:00:00Z,"warm tone, great for beginners"\n'
        "i8,u2,1700000000,\n")
    (tmp_path / "items.csv").write_text("item_id,title,categories\ni9,Tube Amp,amps|tube\n")
    fmt, events, items = read_back(tmp_path)
    assert fmt == "generic_csv"
    assert events == [Event("u1", "i9", 1709287200, None, "warm tone, great for beginners"),
                      Event("u2", "i8", 1700000000)]
    assert items == [Item("i9", "Tube Amp", ("amps", "tube"), "")]


@pytest.mark.parametrize("name, content, expected", [
    ("u.data", "1\t2\t3\t4\n", "movielens_100k"),
    ("ratings.dat", "1::2::3::4\n", "movielens_dat"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n", "movielens_csv"),
    ("events.csv", "user_id,item_id,timestamp\n", "generic_csv"),
    ("reviews.jsonl", "{}\n", "amazon_json"),
])
def test_format_is_detected_from_a_file_and_its_folder(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    assert detect_format(path) == expected
    assert detect_format(tmp_path) == expected


def test_any_csv_with_the_generic_header_is_detected_as_generic(tmp_path):
    path = tmp_path / "my_clicks.csv"
    path.write_text("user_id,item_id,timestamp,rating\n")
    assert detect_format(path) == "generic_csv"
