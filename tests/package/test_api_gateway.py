"""The API as AWS serves it (infra/api.json in the packaged template): our 404 page for paths the
API lacks, JSON errors for API clients, stage throttling, the optional custom domain, and the
site's base URL for links in messages and for the bucket's CORS."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

HOME_IF = {"Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${CustomDomainName}"}, "/api"]}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "infra" / "package.py"), str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="module")
def template(dist: Path) -> dict[str, Any]:
    return json.loads((dist / "sam.json").read_text(encoding="utf-8"))


def _text(html: str) -> str:
    """The page without its stylesheet, whitespace folded."""
    return " ".join(re.sub(r"<style>.*?</style>", "", html, flags=re.S).split())


def test_unknown_paths_get_our_404_page_from_the_same_template(template: dict[str, Any]) -> None:
    from chalicelib.web.pages import not_found_html

    response = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert response["StatusCode"] == "404"
    assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'text/html; charset=utf-8'"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = {**config["environment_variables"], **config["stages"]["prod"].get("environment_variables", {})}
    # whatever the browser's Accept header selects, the body is the page
    assert set(response["ResponseTemplates"]) == {"text/html", "application/json"}
    for body in response["ResponseTemplates"].values():
        page, variables = body["Fn::Sub"]
        assert variables == {"Home": HOME_IF}  # its links: the custom domain's root, or the stage on execute-api
        served = page.replace("${Home}", "/api")
        assert _text(served) == _text(not_found_html(env["PROVINCE_NAME"], env["HOTLINE_NUMBER"], home="/api"))
        assert "Không tìm thấy trang" in served and 'href="/api/tra-cuu"' in served
        # API Gateway substitutes $-variables in a response template and Velocity reads #: none may reach it
        assert "$" not in served and "#" not in served


def test_a_stylesheet_colour_or_id_selector_is_rewritten_and_anything_else_refused() -> None:
    sys.path.insert(0, str(ROOT / "infra"))
    import gateway_page

    assert gateway_page._without_hashes("a{color:#a4161a} #photo-list img{border:1px solid #fff}") == \
        'a{color:rgb(164,22,26)} [id="photo-list"] img{border:1px solid rgb(255,255,255)}'
    with pytest.raises(ValueError, match="template character"):
        gateway_page.gateway_page("Tây Ninh $context.stage", "0276 1022")


def test_api_clients_get_json_errors_in_both_languages(template: dict[str, Any]) -> None:
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        assert responses[kind]["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json; charset=utf-8'"
        body = responses[kind]["ResponseTemplates"]["application/json"]
        # valid JSON once API Gateway substitutes its variables (messageString is a quoted JSON string)
        filled = (body.replace("$context.error.messageString", '"Request Too Large"')
                  .replace("$context.error.responseType", "REQUEST_TOO_LARGE").replace("$context.requestId", "r-1"))
        error = json.loads(filled)["error"]
        assert error["message"] and error["message_en"] and error["code"]
        assert "$" not in filled


def test_the_stage_is_throttled_and_redeployed_on_every_update(dist: Path, template: dict[str, Any]) -> None:
    api = template["Resources"]["RestAPI"]["Properties"]
    # gateway responses are part of a deployment: a parameter change must reach the stage too
    assert api["AlwaysDeploy"] is True
    expanded = json.loads((dist / "expanded.json").read_text(encoding="utf-8"))["Resources"]
    stage = expanded["RestAPIapiStage"]["Properties"]
    assert stage["StageName"] == "api" and stage["MethodSettings"] == [{
        "ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}]
    body = expanded["RestAPI"]["Properties"]["Body"]
    assert body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert template["Parameters"]["ApiThrottlingRateLimit"]["Default"] > 0
    # one stage only: SAM's default extra stage "Stage" would serve the whole site unthrottled at /Stage/
    stages = [r for r in expanded.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    deployments = [r for r in expanded.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    assert len(stages) == 1 and deployments and all("StageName" not in d["Properties"] for d in deployments)


def test_an_optional_custom_domain_serves_the_site_at_its_root(dist: Path, template: dict[str, Any]) -> None:
    params, resources = template["Parameters"], template["Resources"]
    assert params["CustomDomainName"]["Default"] == "" and params["CertificateArn"]["Default"] == ""
    assert template["Conditions"]["HasCustomDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainName"}, ""]}]}
    domain = resources["CustomDomain"]
    assert domain["Type"] == "AWS::ApiGateway::DomainName" and domain["Condition"] == "HasCustomDomain"
    assert domain["Properties"] == {"DomainName": {"Ref": "CustomDomainName"},
                                    "RegionalCertificateArn": {"Ref": "CertificateArn"},
                                    "EndpointConfiguration": {"Types": ["REGIONAL"]}, "SecurityPolicy": "TLS_1_2"}
    mapping = resources["CustomDomainMapping"]
    # no BasePath: the empty mapping, the site at https://<domain>/; the stage must exist first
    assert mapping["Condition"] == "HasCustomDomain" and "BasePath" not in mapping["Properties"]
    assert mapping["Properties"]["Stage"] == "api" and mapping["DependsOn"] == "RestAPIapiStage"
    expanded = json.loads((dist / "expanded.json").read_text(encoding="utf-8"))["Resources"]
    assert "RestAPIapiStage" in expanded and expanded["CustomDomainMapping"]["DependsOn"] == "RestAPIapiStage"
    outputs = template["Outputs"]
    assert outputs["CustomDomainTarget"]["Value"] == {"Fn::GetAtt": ["CustomDomain", "RegionalDomainName"]}
    assert outputs["ExecuteApiOrigin"]["Value"] == {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    rule = template["Rules"]["CustomDomainNeedsCertificate"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}


def test_links_in_messages_and_uploads_follow_the_sites_address(template: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    assert {stage["api_gateway_stage"] for stage in config["stages"].values()} == {"api"}
    # links in SMS and e-mail: the custom domain's root, or the execute-api origin plus the stage
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PUBLIC_BASE_URL"] == {
        "Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${CustomDomainName}"}, {"Fn::Sub": "${PublicOrigin}/api"}]}
    assert re.fullmatch(template["Parameters"]["PublicOrigin"]["AllowedPattern"], "https://abc123.execute-api.x.y")
    assert not re.fullmatch(template["Parameters"]["PublicOrigin"]["AllowedPattern"], "https://abc.example/api")
    # the browser uploads photos from the site's origin (an origin has no path)
    rules = template["Resources"]["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rules[0]["AllowedOrigins"] == {"Fn::If": [
        "HasCustomDomain", [{"Fn::Sub": "https://${CustomDomainName}"}, {"Ref": "PublicOrigin"}],
        [{"Ref": "PublicOrigin"}]]}
    # the rest of the rule is the one the local emulator applies (infra/resources.json)
    local = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    local_rule = local["Resources"]["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0]
    assert {k: v for k, v in rules[0].items() if k != "AllowedOrigins"} == \
        {k: v for k, v in local_rule.items() if k != "AllowedOrigins"}
