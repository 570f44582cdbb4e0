"""Drives Perch with Kestra's official EE Python SDK, kestrapy (issue 17, point 5).

Run by test/kestrapy/kestrapy.test.ts: `python drive.py <scenario>`, with PERCH_URL, PERCH_USERNAME and PERCH_PASSWORD (an
instance owner's, sent as Basic credentials) in the environment. Each scenario calls Perch through kestrapy's own client
and models, so a Perch answer that kestrapy cannot read fails here, and prints one JSON object of what
the test then asserts. Any exception ends the run with a non-zero status and its traceback.
"""
import json
import os
import sys
import uuid

from kestrapy import KestraClient
from kestrapy.exceptions import ApiException
from kestrapy.models.iam_binding_controller_api_create_binding_request import IAMBindingControllerApiCreateBindingRequest
from kestrapy.models.iam_group_controller_api_create_group_request import IAMGroupControllerApiCreateGroupRequest
from kestrapy.models.iam_group_controller_api_update_group_request import IAMGroupControllerApiUpdateGroupRequest
from kestrapy.models.iam_invitation_controller_api_invitation_create_request import IAMInvitationControllerApiInvitationCreateRequest
from kestrapy.models.iam_role_controller_api_role_create_or_update_request import IAMRoleControllerApiRoleCreateOrUpdateRequest
from kestrapy.models.iam_service_account_controller_api_service_account_request import IAMServiceAccountControllerApiServiceAccountRequest
from kestrapy.models.iam_user_controller_api_create_or_update_user_request import IAMUserControllerApiCreateOrUpdateUserRequest
from kestrapy.models.create_api_token_request import CreateApiTokenRequest
from kestrapy.models.apps_controller_api_bulk_operation_request import AppsControllerApiBulkOperationRequest
from kestrapy.models.banner import Banner
from kestrapy.models.kill_switch import KillSwitch
from kestrapy.models.iam_tenant_access_controller_api_create_tenant_access_request import IAMTenantAccessControllerApiCreateTenantAccessRequest
from kestrapy.models.tenant import Tenant

TENANT = "main"
# The owner signs in with Basic credentials (a person's own, which may mint tokens); programs use tokens.
client = KestraClient(host=os.environ["PERCH_URL"], username=os.environ["PERCH_USERNAME"], password=os.environ["PERCH_PASSWORD"], timeout=20)
suffix = uuid.uuid4().hex[:8]


def status_of(call):
    """The HTTP status an SDK call ends with (200 when it returns)."""
    try:
        call()
        return 200
    except ApiException as error:
        return error.status


def users():
    created = client.users.create_user(IAMUserControllerApiCreateOrUpdateUserRequest(email=f"sdk-{suffix}@example.com", first_name="Ada", last_name="Lovelace"))
    read = client.users.user(created.id)
    updated = client.users.update_user(created.id, IAMUserControllerApiCreateOrUpdateUserRequest(email=read.email, first_name="Ada", last_name="Byron"))
    listed = client.users.list_users(page=1, size=50)
    deleted = status_of(lambda: client.users.delete_user(created.id))
    gone = status_of(lambda: client.users.user(created.id))
    return {"email": read.email, "lastName": updated.last_name, "listed": any(u.id == created.id for u in listed.results), "total": listed.total, "deleted": deleted, "gone": gone}


def groups_roles_bindings():
    group = client.groups.create_group(TENANT, IAMGroupControllerApiCreateGroupRequest(name=f"sdk-group-{suffix}", description="made by kestrapy"))
    renamed = client.groups.update_group(group.id, TENANT, IAMGroupControllerApiUpdateGroupRequest(name=f"sdk-group-{suffix}-2"))
    role = client.roles.create_role(TENANT, IAMRoleControllerApiRoleCreateOrUpdateRequest(name=f"sdk-role-{suffix}", permissions={"FLOW": ["VIEW"]}))
    binding = client.bindings.create_binding(TENANT, IAMBindingControllerApiCreateBindingRequest(type="GROUP", external_id=group.id, role_id=role.id, namespace_id="team.sdk"))
    found = client.bindings.search_bindings(TENANT, page=1, size=100)
    read_binding = client.bindings.binding(binding.id, TENANT)
    client.bindings.delete_binding(binding.id, TENANT)
    client.roles.delete_role(role.id, TENANT)
    client.groups.delete_group(group.id, TENANT)
    return {
        "groupName": renamed.name,
        "roleName": role.name,
        "bindingNamespace": read_binding.namespace,
        "bindingRole": read_binding.role.id if read_binding.role else None,
        "searched": any(b.id == binding.id for b in found.results),
        "groupGone": status_of(lambda: client.groups.group(group.id, TENANT)),
    }



def service_accounts_and_tokens():
    account = client.service_account.create_service_account_for_tenant(TENANT, IAMServiceAccountControllerApiServiceAccountRequest(name=f"sdk-robot-{suffix}", description="kestrapy"))
    token = client.service_account.create_api_tokens_for_service_account_with_tenant(account.id, TENANT, CreateApiTokenRequest(name="ci", description="from kestrapy", max_age="PT1H"))
    secret = token.get("fullToken") if isinstance(token, dict) else getattr(token, "full_token", None)
    listed = client.service_account.list_api_tokens_for_service_account_with_tenant(account.id, TENANT)
    robot = KestraClient(host=os.environ["PERCH_URL"], token=secret, timeout=20)
    robot_status = status_of(lambda: robot.users.list_users(page=1, size=1))
    tokens = listed.get("results", listed) if isinstance(listed, dict) else listed
    token_id = tokens[0]["id"] if isinstance(tokens[0], dict) else tokens[0].id
    client.service_account.delete_api_token_for_service_account_with_tenant(account.id, token_id, TENANT)
    revoked_status = status_of(lambda: robot.users.list_users(page=1, size=1))
    client.service_account.delete_service_account_for_tenant(account.id, TENANT)
    # A token cannot mint tokens (issue 16, point 5): its own, for a person, or for a service account.
    owner_token = client.me.create_api_token(CreateApiTokenRequest(name=f"owner-{suffix}", description="kestrapy", max_age="PT1H"))
    by_token = KestraClient(host=os.environ["PERCH_URL"], token=owner_token.full_token, timeout=20)
    token_reads = status_of(lambda: by_token.users.list_users(page=1, size=1))
    token_mints = status_of(lambda: by_token.me.create_api_token(CreateApiTokenRequest(name=f"again-{suffix}", description="kestrapy", max_age="PT1H")))
    return {"name": account.name, "tokenShown": bool(secret), "tokens": len(tokens), "robotAsNonOwner": robot_status, "afterRevoke": revoked_status, "ownerTokenReads": token_reads, "tokenMintsToken": token_mints}


def invitations():
    client.invitations.create_invitation(TENANT, IAMInvitationControllerApiInvitationCreateRequest(email=f"invited-{suffix}@example.com", roles=[], groups=[]))
    found = client.invitations.search_invitations(TENANT, page=1, size=20)
    mine = [i for i in found.results if i.email == f"invited-{suffix}@example.com"]
    by_email = client.invitations.list_invitations_by_email(f"invited-{suffix}@example.com", TENANT)
    read = client.invitations.invitation(mine[0].id, TENANT)
    client.invitations.delete_invitation(mine[0].id, TENANT)
    return {"status": str(read.status.value if hasattr(read.status, "value") else read.status), "byEmail": len(by_email), "gone": status_of(lambda: client.invitations.invitation(mine[0].id, TENANT))}


def audit_logs():
    page = client.auditlogs.search_audit_logs(TENANT, page=1, size=20)
    return {"total": page["total"], "first": page["results"][0] if page["results"] else None}


FLOW = """id: hello-{suffix}
namespace: team.sdk
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def flows_and_executions():
    source = FLOW.format(suffix=suffix)
    flow = client.flows.create_flow(TENANT, source)
    read = client.flows.flow("team.sdk", flow.id, TENANT)
    execution = client.executions.create_execution(TENANT, "team.sdk", flow.id)
    read_execution = client.executions.execution(execution.id, TENANT)
    searched = client.executions.search_executions(TENANT, page=1, size=10)
    client.flows.delete_flow("team.sdk", flow.id, TENANT)
    return {"flowId": read.id, "namespace": read.namespace, "executionFlow": read_execution.flow_id, "searched": (searched["total"] if isinstance(searched, dict) else searched.total) >= 1}


APP = """id: sdk-app-{suffix}
type: io.kestra.plugin.ee.apps.Execution
displayName: {name}
namespace: team.sdk
flowId: hello
access:
  type: PUBLIC
  catalog: true
tags: [SDK]
layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
"""


def apps():
    created = client.apps.create_app(TENANT, APP.format(suffix=suffix, name="First"))
    client.apps.update_app(created.uid, TENANT, APP.format(suffix=suffix, name="Second"))
    read = client.apps.app(created.uid, TENANT)
    tags = client.apps.list_tags(TENANT)
    searched = client.apps.search_apps(TENANT, page=1, size=10, filters=[{"field": "tags", "operation": "IN", "value": ["SDK"]}])
    catalog = client.apps.search_apps_from_catalog(TENANT, page=1, size=10)
    disabled = client.apps.disable_app(created.uid, TENANT)
    client.apps.bulk_enable_apps(TENANT, AppsControllerApiBulkOperationRequest(uids=[created.uid]))
    exported = client.apps.bulk_export_apps(TENANT, AppsControllerApiBulkOperationRequest(uids=[created.uid]))
    imported = client.apps.bulk_import_apps(TENANT, file_content=APP.format(suffix=suffix + "-b", name="Imported"))
    client.apps.bulk_delete_apps(TENANT, AppsControllerApiBulkOperationRequest(uids=imported.success))
    client.apps.delete_app(created.uid, TENANT)
    return {
        "name": read.name, "tags": tags.tags, "searched": [a.uid for a in searched.results] == [created.uid],
        "catalog": any(i.uid == created.uid for i in catalog.results), "disabledEnabled": disabled.enabled,
        "exportIsZip": exported[:2] == b"PK", "imported": len(imported.success), "gone": status_of(lambda: client.apps.app(created.uid, TENANT)),
    }


def operations():
    banner = client.banners.create_banner(Banner(message=f"sdk notice {suffix}", type="WARNING"))
    updated = client.banners.update_banner(banner.id, Banner(message=f"sdk notice {suffix} (2)", type="ERROR"))
    banners = client.banners.search_banners()
    client.banners.delete_banner(banner.id)
    entered = status_of(lambda: client.instance.enter_maintenance())
    status = client.instance.maintenance_status()
    exited = status_of(lambda: client.instance.exit_maintenance())
    switch = client.kill_switches.create_kill_switch(KillSwitch(name=f"sdk-{suffix}", namespace="team.sdk", start_date="2030-01-01T00:00:00Z", evaluation_type="KILL"))
    switches = client.kill_switches.search_kill_switches()
    disabled = client.kill_switches.update_kill_switch(switch.id, KillSwitch(name=switch.name, namespace="team.sdk", start_date="2030-01-01T00:00:00Z", evaluation_type="KILL", enabled=False))
    client.kill_switches.delete_kill_switch(switch.id)
    return {
        "bannerType": updated.type,
        "bannerListed": any(b.id == banner.id and b.message.endswith("(2)") for b in banners),
        "entered": entered,
        "inMaintenance": status.maintenance,
        "exited": exited,
        "switchListed": any(k.id == switch.id and k.namespace == "team.sdk" for k in switches),
        "switchEnabled": disabled.enabled,
        "switchesLeft": len([k for k in client.kill_switches.search_kill_switches() if k.id == switch.id]),
    }


def namespaces_and_secrets():
    from kestrapy.models.api_secret_meta_ee import ApiSecretMetaEE
    from kestrapy.models.api_secret_value import ApiSecretValue
    from kestrapy.models.namespace import Namespace

    ns = f"sdk{suffix}"
    api = client.namespaces
    created = api.create_namespace(TENANT, Namespace(id=ns, deleted=False, description="made by kestrapy", variables={"region": {"name": "eu"}}))
    api.create_namespace(TENANT, Namespace(id=f"{ns}.child", deleted=False))
    updated = api.update_namespace(ns, TENANT, Namespace(id=ns, deleted=False, description="changed", variables={"region": {"name": "us"}}))
    read = api.namespace(ns, TENANT)
    inherited = api.inherited_variables(f"{ns}.child", TENANT)
    put = api.put_secrets(ns, TENANT, ApiSecretValue(key=f"SDK_{suffix.upper()}", value="kestrapy-secret-value", description="d"))
    patched = api.patch_secret(ns, f"SDK_{suffix.upper()}", TENANT, ApiSecretMetaEE(key=f"SDK_{suffix.upper()}", namespace=ns, tags=[]))
    listed = api.list_secrets(TENANT, page=1, size=50)
    inherited_secrets = api.inherited_secrets(f"{ns}.child", TENANT)
    api.delete_secret(ns, f"SDK_{suffix.upper()}", TENANT)
    api.delete_namespace(f"{ns}.child", TENANT)
    return {
        "created": created.description, "updated": updated.description, "read": read.variables, "inherited": inherited,
        "put": [s.key for s in put], "patched": patched[0].description, "listed": [s.key for s in listed.results],
        "inheritedSecrets": inherited_secrets, "namespace": ns, "key": f"SDK_{suffix.upper()}",
    }


def tenants():
    """Tenants and tenant access (issue 20): Perch's `isolation` rides in the Tenant's additional properties."""
    tenant_id = f"sdk-{suffix}"
    tenant = Tenant(id=tenant_id, name="SDK tenant", deleted=False)
    tenant.additional_properties = {"isolation": {"mode": "NAMESPACE", "namespaces": [f"sdk{suffix}"]}}
    created = client.tenants.create_tenant(tenant)
    read = client.tenants.tenant(tenant_id)
    renamed = Tenant(id=tenant_id, name="SDK tenant 2", deleted=False)
    updated = client.tenants.update_tenant(tenant_id, renamed)
    searched = client.tenants.search_tenants(page=1, size=100)
    person = client.users.create_user(IAMUserControllerApiCreateOrUpdateUserRequest(email=f"sdk-member-{suffix}@example.com"))
    client.tenant_access.create_tenant_access_by_email(tenant_id, IAMTenantAccessControllerApiCreateTenantAccessRequest(email=person.email))
    again = status_of(lambda: client.tenant_access.create_tenant_access_by_email(tenant_id, IAMTenantAccessControllerApiCreateTenantAccessRequest(email=person.email)))
    listed = client.tenant_access.list_tenant_access(tenant_id, page=1, size=10)
    entry = client.tenant_access.tenant_access(person.id, tenant_id)
    found = client.tenant_access.autocomplete_tenant_access(tenant_id, {"q": "sdk-member", "existingOnly": True})
    client.tenant_access.delete_tenant_access(person.id, tenant_id)
    client.tenant_access.create_tenant_access(person.id, tenant_id)
    held = status_of(lambda: client.tenants.delete_tenant(tenant_id))
    client.tenant_access.delete_tenant_access(person.id, tenant_id)
    client.tenants.delete_tenant(tenant_id)
    gone = status_of(lambda: client.tenants.tenant(tenant_id))
    client.users.delete_user(person.id)
    return {
        "created": created.id,
        "isolation": read.additional_properties.get("isolation"),
        "renamed": updated.name,
        "searched": any(t.id == tenant_id for t in searched.results),
        "again": again,
        "listed": [u.id for u in listed.results] == [person.id],
        "entryTenant": entry.tenant_id,
        "found": [u.id for u in found] == [person.id],
        "heldDelete": held,
        "gone": gone,
    }


def ai():
    """EE's AI operations Perch serves (the stand-in model answers what test/ai/kestrapy-ai.test.ts scripts)."""
    from kestrapy.models.app_generation_prompt import AppGenerationPrompt
    from kestrapy.models.dashboard_generation_prompt import DashboardGenerationPrompt
    from kestrapy.models.flow_generation_prompt import FlowGenerationPrompt
    conversation = str(uuid.uuid4())
    app = client.ai.generate_app(TENANT, AppGenerationPrompt(conversation_id=conversation, user_prompt="A form to start hello"))
    dashboard = client.ai.generate_dashboard(TENANT, DashboardGenerationPrompt(conversation_id=conversation, user_prompt="Executions over time"))
    flow = client.ai.generate_flow(TENANT, FlowGenerationPrompt(conversation_id=conversation, user_prompt="Say hello", namespace="company.team"))
    return {"app": app, "dashboard": dashboard, "flow": flow}


SCENARIOS = {
    "ai": ai,
    "apps": apps,
    "operations": operations,
    "namespaces-and-secrets": namespaces_and_secrets,
    "users": users,
    "groups-roles-bindings": groups_roles_bindings,
    "service-accounts-and-tokens": service_accounts_and_tokens,
    "invitations": invitations,
    "audit-logs": audit_logs,
    "flows-and-executions": flows_and_executions,
    "tenants": tenants,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](), default=str))
