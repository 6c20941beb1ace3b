"""Campaign tags through HTTP: every documented code, stored state, ownership, and how tags show up
in Campaign.Get / Campaigns.Get."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import CampaignTag, Tag, UserGroup
from protocol.commands import tags as tag_commands
from tests.builders import load_campaign
from tests.helpers import make_user, stored_state




def stored_tags(engine, owner) -> list[str]:
    with engine.uow() as uow:
        return list(uow.session.scalars(select(Tag.name).where(Tag.owner_user_id == owner.id).order_by(Tag.id)))


def tagged(engine, tag_id: int) -> list[int]:
    with engine.uow() as uow:
        return sorted(uow.session.scalars(select(CampaignTag.campaign_id).where(CampaignTag.tag_id == tag_id)))


def new_tag(api, account, name: str) -> int:
    answer = api("Tag.Create", account.session, Tag=name)
    assert answer["Success"] is True, answer
    return answer["TagID"]


def new_campaign(api, account, name: str = "Campaign") -> int:
    return api("Campaign.Create", account.session, CampaignName=name)["CampaignID"]


# --- Tag.Create / Tags.Get ------------------------------------------------------------------------
def test_create_and_list(api, user, other_user, engine):
    answer = api("Tag.Create", user.session, Tag="  summer-sale  ")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TagID": answer["TagID"]}
    assert isinstance(answer["TagID"], int)
    second = api("Tag.Create", user.session, TagName="Autumn 50%")["TagID"]  # the TagName alias
    new_tag(api, other_user, "Theirs")
    assert stored_tags(engine, user) == ["summer-sale", "Autumn 50%"]
    listing = api("Tags.Get", user.session)
    assert listing == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TotalTagCount": 2, "Tags": [
        {"TagID": second, "Tag": "Autumn 50%", "RelOwnerUserID": user.id},
        {"TagID": answer["TagID"], "Tag": "summer-sale", "RelOwnerUserID": user.id},
    ]}


def test_list_without_tags_is_an_empty_list(api, user):
    assert api("Tags.Get", user.session) == {"Success": True, "ErrorCode": 0, "ErrorText": "",
                                             "TotalTagCount": 0, "Tags": []}


def test_letters_of_any_script_and_underscores_are_accepted(api, user, engine):
    new_tag(api, user, "Été_2026")
    assert stored_tags(engine, user) == ["Été_2026"]


def test_names_are_unique_per_user_case_insensitively(api, user, other_user, engine):
    new_tag(api, user, "VIP")
    assert api("Tag.Create", user.session, Tag="vip")["ErrorCode"] == [2]
    new_tag(api, other_user, "VIP")  # another account's tag of the same name is no clash
    new_tag(api, user, "été")
    assert api("Tag.Create", user.session, Tag="ÉTÉ")["ErrorCode"] == [2]  # beyond ASCII too
    assert stored_tags(engine, user) == ["VIP", "été"]


@pytest.mark.parametrize("name", ["a,b", "<b>bold</b>", "tab\there", "x" * 256])
def test_create_bad_characters_or_too_long_is_3(api, user, engine, name):
    assert api("Tag.Create", user.session, Tag=name)["ErrorCode"] == [3]
    assert stored_tags(engine, user) == []


# --- Tag.Update -----------------------------------------------------------------------------------
def test_update_renames(api, user, engine):
    tag_id = new_tag(api, user, "vip")
    assert api("Tag.Update", user.session, TagID=tag_id, Tag="VIP") == {"Success": True, "ErrorCode": 0,
                                                                         "ErrorText": ""}
    assert api("Tag.Update", user.session, TagID=tag_id, TagName=" Gold ")["Success"] is True
    assert stored_tags(engine, user) == ["Gold"]


def test_update_of_another_users_tag_changes_nothing(api, user, other_user, engine):
    theirs = new_tag(api, other_user, "Theirs")
    assert api("Tag.Update", user.session, TagID=theirs, Tag="Mine")["ErrorCode"] == [5]
    assert stored_tags(engine, other_user) == ["Theirs"]


def test_update_to_another_tags_name_is_6(api, user, engine):
    new_tag(api, user, "Gold")
    silver = new_tag(api, user, "Silver")
    assert api("Tag.Update", user.session, TagID=silver, Tag="GOLD")["ErrorCode"] == [6]
    assert stored_tags(engine, user) == ["Gold", "Silver"]


# --- Tags.Delete ----------------------------------------------------------------------------------
def test_delete_removes_tags_and_their_assignments(api, user, engine):
    keep, gone, also_gone = (new_tag(api, user, n) for n in ("Keep", "Gone", "AlsoGone"))
    campaign = new_campaign(api, user)
    for tag_id in (keep, gone):
        assert api("Tag.AssignToCampaigns", user.session, TagID=tag_id, CampaignIDs=str(campaign))["Success"]
    answer = api("Tags.Delete", user.session, Tags=f"{gone}, {also_gone}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert stored_tags(engine, user) == ["Keep"] and tagged(engine, gone) == []
    assert api("Campaign.Get", user.session, CampaignID=campaign, RetrieveTags="true")["Campaign"]["Tags"] == ["Keep"]


def test_delete_with_a_foreign_tag_deletes_nothing(api, user, other_user, engine):
    mine, theirs = new_tag(api, user, "Mine"), new_tag(api, other_user, "Theirs")
    answer = api("Tags.Delete", user.session, Tags=f"{mine},{theirs}")
    assert answer["ErrorCode"] == [2] and str(theirs) in answer["ErrorText"][0]
    assert stored_tags(engine, user) == ["Mine"] and stored_tags(engine, other_user) == ["Theirs"]


# --- Tag.AssignToCampaigns / Tag.UnassignFromCampaigns --------------------------------------------
def test_assign_shows_in_campaign_get_and_filters_campaigns_get(api, user, engine):
    sale, news = new_tag(api, user, "Sale"), new_tag(api, user, "News")
    first, second, untagged = (new_campaign(api, user, n) for n in ("First", "Second", "Untagged"))
    answer = api("Tag.AssignToCampaigns", user.session, TagID=sale, CampaignIDs=f"{first},{second}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    # Assigning again is harmless.
    assert api("Tag.AssignToCampaigns", user.session, TagID=sale, CampaignIDs=str(first))["Success"] is True
    api("Tag.AssignToCampaigns", user.session, TagID=news, CampaignIDs=str(first))
    assert tagged(engine, sale) == sorted([first, second])

    got = api("Campaign.Get", user.session, campaignid=first, retrievetags="true")["Campaign"]
    assert sorted(got["Tags"]) == ["News", "Sale"]
    assert [t.name for t in load_campaign(engine, untagged).tags] == []

    filtered = api("Campaigns.Get", user.session, Tags=str(sale), RetrieveTags="true",
                   OrderField="CampaignName", OrderType="ASC")
    assert filtered["TotalCampaigns"] == 2
    assert [(c["CampaignName"], sorted(c["Tags"])) for c in filtered["Campaigns"]] == \
        [("First", ["News", "Sale"]), ("Second", ["Sale"])]
    assert [c["CampaignName"] for c in api("Campaigns.Get", user.session, Tags=str(news))["Campaigns"]] == ["First"]


def test_unassign_removes_only_that_tag(api, user, engine):
    sale, news = new_tag(api, user, "Sale"), new_tag(api, user, "News")
    first, second = new_campaign(api, user, "First"), new_campaign(api, user, "Second")
    api("Tag.AssignToCampaigns", user.session, TagID=sale, CampaignIDs=f"{first},{second}")
    api("Tag.AssignToCampaigns", user.session, TagID=news, CampaignIDs=str(first))
    answer = api("Tag.UnassignFromCampaigns", user.session, TagID=sale, CampaignIDs=f"{first}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert tagged(engine, sale) == [second] and tagged(engine, news) == [first]
    # Unassigning from a campaign that does not carry the tag is harmless.
    assert api("Tag.UnassignFromCampaigns", user.session, TagID=sale, CampaignIDs=str(first))["Success"] is True


@pytest.mark.parametrize("command", ["Tag.AssignToCampaigns", "Tag.UnassignFromCampaigns"])
def test_foreign_tags_and_campaigns_are_refused_without_changes(api, user, other_user, engine, command):
    mine, theirs = new_tag(api, user, "Mine"), new_tag(api, other_user, "Theirs")
    own_campaign, their_campaign = new_campaign(api, user), new_campaign(api, other_user)
    api("Tag.AssignToCampaigns", other_user.session, TagID=theirs, CampaignIDs=str(their_campaign))
    api("Tag.AssignToCampaigns", user.session, TagID=mine, CampaignIDs=str(own_campaign))
    before = tagged(engine, mine), tagged(engine, theirs)

    answer = api(command, user.session, TagID=theirs, CampaignIDs=str(own_campaign))
    assert answer["ErrorCode"] == [3]
    answer = api(command, user.session, TagID=mine, CampaignIDs=f"{own_campaign},{their_campaign}")
    assert answer["ErrorCode"] == [4] and str(their_campaign) in answer["ErrorText"][0]
    assert (tagged(engine, mine), tagged(engine, theirs)) == before


def test_assigning_needs_the_campaigns_get_permission(api, user, engine):
    with engine.uow() as uow:
        group = UserGroup(name="Writers", permissions="Campaign.Create", created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    writer = make_user(engine, api, "writer", group_id=group_id)
    tag_id = new_tag(api, writer, "Drafts")  # tag.create documents no permission
    campaign = new_campaign(api, writer)
    answer = api("Tag.AssignToCampaigns", writer.session, TagID=tag_id, CampaignIDs=str(campaign))
    assert answer["ErrorCode"] == 99999 and tagged(engine, tag_id) == []


def test_copied_campaign_keeps_its_tags(api, user):
    tag_id = new_tag(api, user, "Sale")
    campaign = new_campaign(api, user)
    api("Tag.AssignToCampaigns", user.session, TagID=tag_id, CampaignIDs=str(campaign))
    copy = api("Campaign.Copy", user.session, CampaignID=campaign)["NewCampaignID"]
    assert api("Campaign.Get", user.session, CampaignID=copy, RetrieveTags="1")["Campaign"]["Tags"] == ["Sale"]


# --- every documented code, through HTTP ----------------------------------------------------------
def _tag(t, name="Existing"):
    return new_tag(t.api, t.user, name)


def _campaign(t):
    return new_campaign(t.api, t.user)


def _create_clash(t):
    _tag(t, "Dup")
    return dict(Tag="dup")


def _rename_clash(t):
    _tag(t, "One")
    return dict(TagID=_tag(t, "Two"), Tag="one")


ERROR_CASES = [
    ("Tag.Create", 1, lambda t: {}),
    ("Tag.Create", 2, _create_clash),
    ("Tag.Create", 3, lambda t: dict(Tag="semi;colon")),
    ("Tag.Create", 4, lambda t: dict(Tag="   ")),
    ("Tag.Update", 1, lambda t: dict(Tag="x")),
    ("Tag.Update", 2, lambda t: dict(TagID=_tag(t))),
    ("Tag.Update", 3, lambda t: dict(TagID=_tag(t), Tag="a/b")),
    ("Tag.Update", 4, lambda t: dict(TagID=_tag(t), TagName=" \t ")),
    ("Tag.Update", 5, lambda t: dict(TagID=999999, Tag="x")),
    ("Tag.Update", 5, lambda t: dict(TagID="seven", Tag="x")),
    ("Tag.Update", 6, _rename_clash),
    ("Tags.Delete", 1, lambda t: {}),
    ("Tags.Delete", 1, lambda t: dict(Tags="1,x")),
    ("Tags.Delete", 2, lambda t: dict(Tags="999999")),
    ("Tag.AssignToCampaigns", 1, lambda t: dict(CampaignIDs=_campaign(t))),
    ("Tag.AssignToCampaigns", 2, lambda t: dict(TagID=_tag(t))),
    ("Tag.AssignToCampaigns", 2, lambda t: dict(TagID=_tag(t), CampaignIDs="1,abc")),
    ("Tag.AssignToCampaigns", 3, lambda t: dict(TagID=999999, CampaignIDs=_campaign(t))),
    ("Tag.AssignToCampaigns", 4, lambda t: dict(TagID=_tag(t), CampaignIDs="999999")),
    ("Tag.UnassignFromCampaigns", 1, lambda t: dict(CampaignIDs=_campaign(t))),
    ("Tag.UnassignFromCampaigns", 2, lambda t: dict(TagID=_tag(t))),
    ("Tag.UnassignFromCampaigns", 3, lambda t: dict(TagID=999999, CampaignIDs=_campaign(t))),
    ("Tag.UnassignFromCampaigns", 4, lambda t: dict(TagID=_tag(t), CampaignIDs="999999")),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, engine, command, code, params):
    prepared = params(SimpleNamespace(api=api, user=user, engine=engine))
    before = stored_state(engine)
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert stored_state(engine) == before  # a refused command changes nothing
    assert isinstance(answer["ErrorText"], list) and len(answer["ErrorText"]) == 1


def test_every_documented_code_has_a_case():
    for command in tag_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in tag_commands.COMMANDS])
def test_credentials_are_required(api, user, engine, command):
    tag_id, campaign = new_tag(api, user, "Mine"), new_campaign(api, user)
    before = stored_state(engine)
    assert api(command, TagID=tag_id, Tag="x", Tags=str(tag_id), CampaignIDs=str(campaign))["ErrorCode"] == 99998
    assert stored_state(engine) == before
