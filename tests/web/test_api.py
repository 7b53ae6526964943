from tests.factories.registry import resident_id


def test_residents_api_returns_a_page_with_total_and_cursor(admin, world):
    body = admin.get("/api/v1/residents", params={"area": world.community, "limit": 4}).json()

    assert body["total"] == 30
    assert [r["name"] for r in body["items"]] == ["居民0", "居民1", "居民2", "居民3"]
    assert body["next_after"] == body["items"][-1]["id"]
    assert body["items"][0]["resident_code"] == world.codes["居民0"]


def test_residents_api_cursor_walks_every_resident_once(admin, world):
    names: list[str] = []
    after = None
    while True:
        params = {"limit": 7, **({"after": after} if after is not None else {})}
        body = admin.get("/api/v1/residents", params=params).json()
        names += [r["name"] for r in body["items"]]
        after = body["next_after"]
        if after is None:
            break

    assert sorted(names) == sorted(world.codes)
    assert len(names) == 35


def test_residents_api_uses_the_page_size_setting_without_a_limit(admin, world):
    assert len(admin.get("/api/v1/residents").json()["items"]) == 10


def test_residents_api_searches_by_each_term(admin, world):
    def names(**params: str) -> list[str]:
        return [r["name"] for r in admin.get("/api/v1/residents", params=params).json()["items"]]

    assert names(name="居民2") == [
        "居民2",
        "居民20",
        "居民21",
        "居民22",
        "居民23",
        "居民24",
        "居民25",
        "居民26",
        "居民27",
        "居民28",
    ]
    assert names(phone="0103") == ["居民103"]
    assert names(id_suffix=resident_id(2 * 5)[-4:]) == ["居民5"]
    assert names(building=world.other_building, name="居民10") == [
        "居民10" + str(i) for i in range(5)
    ]


def test_residents_api_reports_groups_derived_today(admin, world):
    body = admin.get("/api/v1/residents", params={"phone": "0001"}).json()

    assert body["items"][0]["groups"] == []
    assert body["items"][0]["birth_date"] == "1980-05-17"


def test_residents_api_refuses_a_short_phone_suffix_with_422(admin, world):
    response = admin.get("/api/v1/residents", params={"phone": "12"})

    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "phone"]
    assert detail["type"] == "phone_suffix"


def test_residents_api_error_messages_follow_the_ui_language(admin, world):
    admin.get("/lang/en")

    detail = admin.get("/api/v1/residents", params={"phone": "12"}).json()["detail"][0]

    assert detail["msg"] == "Enter at least the last 4 digits of the phone number"


def test_residents_api_validates_limit_and_cursor_types(admin, world):
    assert admin.get("/api/v1/residents", params={"limit": 0}).status_code == 422
    assert admin.get("/api/v1/residents", params={"limit": 500}).status_code == 422
    assert admin.get("/api/v1/residents", params={"after": "x"}).status_code == 422


def test_resident_api_returns_one_resident(admin, world):
    body = admin.get(f"/api/v1/residents/{world.codes['居民7']}").json()

    assert body["name"] == "居民7"
    assert body["phone"] == "138****0007"  # administrators see personal details masked
    assert body["id_number"].count("*") == 10


def test_areas_api_returns_the_users_roots_with_counts(admin, world):
    assert [(n["area"]["code"], n["residents"]) for n in admin.get("/api/v1/areas").json()] == [
        (world.district, 35)
    ]


def test_areas_api_for_a_community_worker_returns_their_community(worker, world):
    body = worker.get("/api/v1/areas").json()

    assert [(n["area"]["name"], n["residents"]) for n in body] == [("新星社区", 30)]


def test_area_api_returns_children_with_counts(admin, world):
    body = admin.get(f"/api/v1/areas/{world.street}").json()

    assert body["area"]["name"] == "泉湖街道"
    assert body["residents"] == 35
    assert [(c["area"]["name"], c["residents"]) for c in body["children"]] == [
        ("新星社区", 30),
        ("尖山社区", 5),
    ]


def test_area_api_counts_units_through_households(admin, world):
    body = admin.get(f"/api/v1/areas/{world.building}").json()

    assert [(c["area"]["name"], c["residents"]) for c in body["children"]] == [("1单元", 30)]
    assert body["area"]["latitude"] == 26.6801


def test_api_hides_everything_outside_the_jurisdiction(worker, world):
    assert worker.get(f"/api/v1/areas/{world.other_community}").status_code == 404
    assert worker.get(f"/api/v1/areas/{world.street}").status_code == 404
    assert worker.get(f"/api/v1/residents/{world.codes['居民100']}").status_code == 404
    assert worker.get("/api/v1/residents", params={"area": world.district}).status_code == 404
    body = worker.get("/api/v1/residents", params={"phone": "0100"}).json()
    assert body == {"items": [], "total": 0, "next_after": None}
