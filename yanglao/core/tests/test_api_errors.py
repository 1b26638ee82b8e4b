"""One error shape for the API: {code, message, details}."""


def test_unauthenticated_calls_get_401_in_the_error_shape(db, client):
    response = client.get("/api/v1/regions/1201")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert "Bearer" in body["message"]
    assert body["details"] == []


def test_an_unknown_region_is_404_naming_the_code(cast, client):
    client.force_login(cast.city_admin)
    response = client.get("/api/v1/regions/120199")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert "120199" in body["message"]


def test_a_malformed_code_is_400_naming_the_field(cast, client):
    client.force_login(cast.city_admin)
    response = client.get("/api/v1/regions/12ab")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"] == [{"field": "code", "message": body["message"]}]


def test_the_openapi_document_and_docs_page_are_served_locally(db, client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Yanglao API"
    assert "/api/v1/health" in spec["paths"]
    assert "/api/v1/regions/{code}/children" in spec["paths"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "cdn." not in docs
    assert "/static/ninja/swagger-ui-bundle.js" in docs


def test_an_unknown_api_path_answers_in_the_error_shape(db, client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.get("/api/docs").url == "/api/v1/docs"
