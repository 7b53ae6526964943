import csv
import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.registry import resident_id
from tests.web.conftest import post_form, sign_in
from tongxin.registry.models import Resident
from tongxin.registry.rules import Gender

HEADER = ["姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def _good_rows() -> list[list[str]]:
    return [
        [
            "张三",
            "男",
            "1980-05-17",
            resident_id(500),
            "13900001234",
            "尖山小区",
            "1栋",
            "1单元",
            "301",
        ],
        [
            "李四",
            "女",
            "1980-05-17",
            resident_id(502, gender=Gender.FEMALE),
            "13900005678",
            "尖山小区",
            "1栋",
            "1单元",
            "301",
        ],
    ]


def _residents(db) -> int:
    with Session(db) as s:
        return int(s.scalar(select(func.count()).select_from(Resident)) or 0)


def _upload(client, data: bytes, community: str, name: str = "居民.csv"):
    return post_form(
        client,
        "/registry/import",
        files={"file": (name, data, "text/csv")},
        data={"community": community},
    )


def test_the_import_page_offers_the_communities_of_the_jurisdiction(worker, world):
    page = worker.get("/registry/import").text

    assert 'type="file"' in page
    assert f'<option value="{world.community}"' in page
    assert world.other_community not in page


def test_a_clean_file_imports_and_the_page_shows_the_counts(admin, world, db):
    response = _upload(admin, _csv(_good_rows()), world.community)

    assert response.status_code == 200, response.text
    assert "导入成功" in response.text
    assert 'data-testid="imported">2<' in response.text
    assert _residents(db) == 37
    assert "张三" in admin.get("/residents", params={"phone": "1234"}).text


def test_a_bad_file_imports_nothing_and_lists_every_problem(admin, world, db):
    broken = resident_id(504)[:-1] + ("0" if resident_id(504)[-1] != "0" else "1")
    rows = [
        *_good_rows(),
        ["王五", "男", "1980-05-17", broken, "139", "尖山小区", "9栋", "1单元", "1"],
    ]

    response = _upload(admin, _csv(rows), world.community)

    assert response.status_code == 422
    page = response.text
    assert "导入失败：未导入任何数据" in page
    assert "id_check_digit" in page
    assert broken in page
    assert '<td class="num" data-label="行">4</td>' in page
    assert _residents(db) == 35


def test_problems_are_explained_in_english_when_the_ui_is_english(admin, world):
    admin.get("/lang/en")
    rows = [["王五", "男", "1980-05-17", "123", "13900001234", "尖山小区", "1栋", "1单元", "1"]]

    page = _upload(admin, _csv(rows), world.community).text

    assert "Import failed: nothing was imported" in page
    assert "身份证号应为18位" not in page


def test_a_community_worker_must_choose_a_community_inside_the_jurisdiction(client, world, db):
    sign_in(client, "worker")

    missing = _upload(client, _csv(_good_rows()), "")
    outside = _upload(client, _csv(_good_rows()), world.other_community)

    assert missing.status_code == 400 and "请选择社区" in missing.text
    assert outside.status_code == 404 and "找不到该社区" in outside.text
    assert _residents(db) == 35


def test_an_empty_upload_is_refused_with_a_message(admin, world):
    response = _upload(admin, b"", world.community)

    assert response.status_code == 400
    assert "请选择要导入的文件" in response.text
