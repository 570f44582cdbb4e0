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


SCENARIOS = {
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
