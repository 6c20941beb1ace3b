"""Personalisation tags: the legacy %…% syntax, the {{ … }} syntax, escaping and unknown-tag reports."""
import hashlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.delivery import html_scan, personalize, tag_compiler, tag_modifiers, tag_names
from engine.delivery.personalize import HTML, TEXT, URL, compile_template, find_unknown_tags
from engine.delivery.php_format import php_date

NOW = datetime(2024, 12, 25, 14, 30, 5, tzinfo=timezone.utc)   # a Wednesday
CTX = {
    "Subscriber:SubscriberID": 42,
    "Subscriber:EmailAddress": "sarah+news@example.com",
    "Subscriber:ListID": 7,
    "Subscriber:SubscriptionStatus": "Subscribed",
    "Subscriber:SubscriptionDate": datetime(2020, 3, 1, 9, 15),
    "Subscriber:CustomField1": "sarah",
    "Subscriber:CustomField2": "",
    "Subscriber:CustomField3": "Smith & Co <b>",
    "Subscriber:CustomField4": "1234.5",
    "Subscriber:CustomField5": "United States",
    "Subscriber:CustomField6": "10",
    "User:CompanyName": "Acme Corp",
    "User:FirstName": "Ada",
    "List:Name": "Weekly",
    "List:ListID": 7,
    "Campaign:CampaignID": 99,
    "Campaign:Name": "Winter sale",
    "Link:Unsubscribe": "https://t.example/t/u/TOKEN?a=1&b=2",
    "Link:WebBrowser": "https://t.example/t/w/TOKEN",
    "Link:Confirm": "https://t.example/t/confirm/TOKEN",
    "Link:Reject": "https://t.example/t/reject/TOKEN",
    "MFROMDomain": "bounces.example.com",
    "Now": NOW,
}
ALIASES = {"FirstName": 1, "LastName": 2, "Company": 3}


def render(text, mode=TEXT, ctx=CTX, **kw):
    return compile_template(text, mode, aliases=ALIASES, **kw).render(ctx)


# --- subscriber, user, list, campaign tags ----------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("%Subscriber:EmailAddress%", "sarah+news@example.com"),
    ("%subscriber:emailaddress%", "sarah+news@example.com"),
    ("%Subscriber:CustomField1%", "sarah"),
    ("%Subscriber:FirstName%", "sarah"),                   # merge-tag alias of custom field 1
    ("%Subscriber:firstname%", "sarah"),
    ("%Subscriber:SubscriberID%", "42"),
    ("%Subscriber:HashedSubscriberID%", hashlib.md5(b"42").hexdigest()),
    ("%Subscriber:ListID%", "7"),
    ("%Subscriber:SubscriptionDate%", "2020-03-01 09:15:00"),
    ("{{ Subscriber:Status }}", "Subscribed"),
    ("%User:CompanyName%", "Acme Corp"),
    ("{{ User:FirstName }}", "Ada"),
    ("%List:Name% #%List:ListID%", "Weekly #7"),
    ("%Campaign:CampaignID% %Campaign:Name%", "99 Winter sale"),
    ("{{ Campaign:HashedCampaignID }}", hashlib.md5(b"99").hexdigest()),
    ("%MFROMDomain%", "bounces.example.com"),
    ("{{Subscriber:EmailAddress}}", "sarah+news@example.com"),
    ("Hi %Subscriber:FirstName% %Subscriber:LastName%!", "Hi sarah !"),
])
def test_field_tags(text, expected):
    assert render(text) == expected


def test_text_that_only_looks_like_percent_signs_is_left_alone():
    text = "Save 50% today, 20%-30% tomorrow, 100%:sure and a%20b"
    assert render(text) == text
    assert find_unknown_tags(text, []) == []


def test_an_unknown_namespace_stays_as_written_but_is_reported():
    assert render("%Foo:Bar%") == "%Foo:Bar%"
    assert find_unknown_tags("%Foo:Bar%", []) == ["%Foo:Bar%"]


# --- fallbacks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ('{{ Subscriber:CustomField2|"there" }}', "there"),
    ('{{ Subscriber:CustomField2 | "there" }}', "there"),
    ("{{ Subscriber:CustomField2 | 'there' }}", "there"),
    ("{{ Subscriber:CustomField2 | there }}", "there"),          # unquoted: accepted
    ('{{ Subscriber:CustomField1|"there" }}', "sarah"),           # a value wins over the fallback
    ("%Subscriber:CustomField2|there%", "there"),                 # legacy form with a fallback
    ("%Subscriber:LastName|friend%", "friend"),
    ("%Subscriber:FirstName|friend%", "sarah"),
    ('{{ Subscriber:CustomField2|"" }}', ""),
    ('{{{ Subscriber:CustomField2|"<b>N/A</b>" }}}', "<b>N/A</b>"),
])
def test_fallbacks(text, expected):
    assert render(text) == expected


def test_whitespace_only_values_take_the_fallback():
    assert render('{{ Subscriber:CustomField2|"there" }}', ctx={"Subscriber:CustomField2": "   "}) == "there"


def test_fallbacks_are_escaped_in_html_and_may_arrive_entity_encoded():
    assert render('{{ Subscriber:CustomField2|"<friend>" }}', HTML) == "&lt;friend&gt;"
    # WYSIWYG editors store the quotes of a fallback as &quot;
    assert render("Hi {{ Subscriber:CustomField2|&quot;there &amp; you&quot; }}", HTML) == "Hi there &amp; you"


# --- escaping -----------------------------------------------------------------------------------------
def test_html_values_are_escaped_text_values_are_not():
    assert render("%Subscriber:CustomField3%", HTML) == "Smith &amp; Co &lt;b&gt;"
    assert render("{{ Subscriber:Company }}", HTML) == "Smith &amp; Co &lt;b&gt;"
    assert render("%Subscriber:CustomField3%", TEXT) == "Smith & Co <b>"
    assert render("{{{ Subscriber:CustomField3 }}}", HTML) == "Smith & Co <b>"
    assert render("{{ raw Subscriber:CustomField3 }}", HTML) == "Smith & Co <b>"


def test_quotes_cannot_break_out_of_an_attribute():
    ctx = {"Subscriber:CustomField1": '" onmouseover="alert(1)'}
    out = render('<p title="%Subscriber:FirstName%">x</p>', HTML, ctx=ctx)
    assert out == '<p title="&quot; onmouseover=&quot;alert(1)">x</p>'


def test_values_continuing_a_url_are_url_encoded():
    out = render('<a href="https://x.example/p?e=%Subscriber:EmailAddress%&amp;c={{ Subscriber:Company }}">x</a>',
                 HTML)
    assert out == '<a href="https://x.example/p?e=sarah%2Bnews%40example.com&amp;c=Smith%20%26%20Co%20%3Cb%3E">x</a>'


def test_a_value_that_is_the_whole_url_is_only_html_escaped():
    ctx = {"Subscriber:CustomField1": "https://example.com/?a=1&b=2"}
    assert render('<a href="%Subscriber:FirstName%">x</a>', HTML, ctx=ctx) == \
        '<a href="https://example.com/?a=1&amp;b=2">x</a>'


def test_explicit_url_encoding_is_not_applied_twice():
    out = render('<a href="https://x.example/?e={{ urlEncode Subscriber:EmailAddress }}">x</a>', HTML)
    assert out == '<a href="https://x.example/?e=sarah%2Bnews%40example.com">x</a>'


def test_url_mode_encodes_every_value():
    assert render("https://x.example/?e=%Subscriber:EmailAddress%&n={{ Subscriber:Company }}", URL) == \
        "https://x.example/?e=sarah%2Bnews%40example.com&n=Smith%20%26%20Co%20%3Cb%3E"


# --- links --------------------------------------------------------------------------------------------
def test_link_tags():
    out = render('<a href="%Link:Unsubscribe%">u</a> <a href="{{ Link:WebBrowser }}">w</a> '
                 '<a href="{{{ Link:Confirm }}}">c</a> <a href="%Link:Reject%">r</a>', HTML)
    assert out == ('<a href="https://t.example/t/u/TOKEN?a=1&amp;b=2">u</a> '
                   '<a href="https://t.example/t/w/TOKEN">w</a> '
                   '<a href="https://t.example/t/confirm/TOKEN">c</a> <a href="https://t.example/t/reject/TOKEN">r</a>')
    assert render("Unsubscribe: %Link:Unsubscribe%") == "Unsubscribe: https://t.example/t/u/TOKEN?a=1&b=2"


def test_a_link_inside_a_url_is_not_url_encoded():
    out = render('<a href="https://x.example/?next=%Link:Unsubscribe%">u</a>', HTML)
    assert out == '<a href="https://x.example/?next=https://t.example/t/u/TOKEN?a=1&amp;b=2">u</a>'


def test_link_tags_that_are_not_allowed_render_nothing_and_are_reported():
    template = compile_template("Hello %Link:Unsubscribe% {{ Link:WebBrowser }}", TEXT, links=())
    assert template.render(CTX) == "Hello  "
    assert template.unknown_tags == ["%Link:Unsubscribe%", "{{ Link:WebBrowser }}"]


# --- dates --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("%Date=F j, Y%", "December 25, 2024"),
    ("%Date=Y-m-d%", "2024-12-25"),
    ("%Date=l, jS \\o\\f F%", "Wednesday, 25th of December"),
    ("{{ dateFormat-Y-m-d Now }}", "2024-12-25"),
    ("{{ dateFormat-F_j,_Y Now }}", "December 25, 2024"),
    ("{{ dateFormat-D,_d_M_Y Now }}", "Wed, 25 Dec 2024"),
    ("{{ dateFormat-l Now }}", "Wednesday"),
    ("{{ dateFormat-h:i_A Now }}", "02:30 PM"),
    ("{{ dateFormat-F_j,_Y Subscriber:SubscriptionDate }}", "March 1, 2020"),
    ("{{ dateFormat-d/m/Y Subscriber:CustomField7 }}", "25/12/2024"),
    ('{{ dateFormat-F_j,_Y Subscriber:CustomField8|"No date provided" }}', "No date provided"),
    ("{{ dateFormat-Y Subscriber:CustomField9 }}", "soon"),     # not a date: shown as it is
])
def test_dates(text, expected):
    ctx = {**CTX, "Subscriber:CustomField7": "2024-12-25", "Subscriber:CustomField8": "",
           "Subscriber:CustomField9": "soon"}
    assert render(text, ctx=ctx) == expected


def test_php_date_format_characters():
    d = datetime(2024, 2, 3, 0, 5, 9, 123456, tzinfo=ZoneInfo("America/Sao_Paulo"))
    assert php_date("d D j l N S w z W F m M n t L o Y y", d) == \
        "03 Sat 3 Saturday 6 rd 6 33 05 February 02 Feb 2 29 1 2024 2024 24"
    assert php_date("a A g G h H i s u v", d) == "am AM 12 0 12 00 05 09 123456 123"
    assert php_date("e O P Z", d) == "America/Sao_Paulo -0300 -03:00 -10800"
    assert php_date("c", d) == "2024-02-03T00:05:09-03:00"
    assert php_date("r", d) == "Sat, 03 Feb 2024 00:05:09 -0300"
    assert php_date("U", datetime(1970, 1, 2, tzinfo=timezone.utc)) == "86400"
    assert php_date("\\Y\\e\\s: Y", d) == "Yes: 2024"
    assert [php_date("jS", datetime(2024, 1, day)) for day in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd"]


# --- helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("helper,value,expected", [
    ("uppercase", "sarah connor", "SARAH CONNOR"),
    ("upcase", "sarah connor", "SARAH CONNOR"),
    ("lowercase", "SARAH CONNOR", "sarah connor"),
    ("downcase", "SARAH CONNOR", "sarah connor"),
    ("capitalize", "sarah connor", "Sarah connor"),
    ("capitalizeAll", "sarah connor", "Sarah Connor"),
    ("capitalizeAll", "SARAH", "Sarah"),
    ("titleize", "sarah connor", "Sarah Connor"),
    ("camelcase", "first name", "firstName"),
    ("pascalcase", "first name", "FirstName"),
    ("dashcase", "firstName", "first-name"),
    ("dotcase", "firstName", "first.name"),
    ("snakecase", "firstName", "first_name"),
    ("trim", "  x  ", "x"),
    ("trimLeft", "  x  ", "x  "),
    ("trimRight", "  x  ", "  x"),
    ("ellipsis", "a" * 25, "a" * 20 + "..."),
    ("ellipsis-5", "abcdefgh", "abcde..."),
    ("ellipsis-5", "abc", "abc"),
    ("truncate-5", "abcdefgh", "abcde"),
    ("truncateWords", "one two three four five six", "one two three four five..."),
    ("truncateWords-2", "one two three", "one two..."),
    ("urlEncode", "a b&c@d", "a+b%26c%40d"),
    ("encodeURI", "a b&c@d", "a%20b%26c%40d"),
    ("decodeURI", "a%20b%26c", "a b&c"),
    ("number_format", "1234.5", "1,235"),
    ("number_format-2", "1234.5", "1,234.50"),
    ("number_format-2", "", "0.00"),
    ("number_format", "not a number", "0"),
    ("number_format", "-0.4", "0"),
    ("wordwrap-10", "the quick brown fox jumps", "the quick\nbrown fox\njumps"),
    ("wordwrap-4", "abcdefghij", "abcd\nefgh\nij"),
    ("md5", "sarah@example.com", hashlib.md5(b"sarah@example.com").hexdigest()),
    ("sha1", "sarah@example.com", hashlib.sha1(b"sarah@example.com").hexdigest()),
])
def test_helpers(helper, value, expected):
    assert render(f"{{{{ {helper} Subscriber:CustomField9 }}}}", ctx={"Subscriber:CustomField9": value}) == expected


def test_helpers_combine_with_fallbacks():
    assert render('{{ uppercase Subscriber:CustomField2|"unknown" }}') == "UNKNOWN"
    assert render('{{ capitalizeAll Subscriber:CustomField1|"Subscriber" }}') == "Sarah"


def test_nl2br_only_changes_html_and_comes_after_escaping():
    ctx = {"Subscriber:CustomField9": "1 Main St\n<Apt 2>"}
    assert render("{{ nl2br Subscriber:CustomField9 }}", HTML, ctx=ctx) == "1 Main St<br />\n&lt;Apt 2&gt;"
    assert render("{{ nl2br Subscriber:CustomField9 }}", TEXT, ctx=ctx) == "1 Main St\n<Apt 2>"


# --- conditions, modifiers, spinning, random -----------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("[IF:%Subscriber:CustomField5%=United States]Free shipping[ELSE]Rates apply[ENDIF]", "Free shipping"),
    ("[IF:%Subscriber:CustomField5%=united states]yes[ENDIF]", "yes"),       # case-insensitive
    ("[IF:%Subscriber:CustomField5%!=United States]no[ELSE]yes[ENDIF]", "yes"),
    ('[IF:%Subscriber:FirstName%!=""]Hello %Subscriber:FirstName%,[ELSE]Hello,[ENDIF]', "Hello sarah,"),
    ('[IF:%Subscriber:LastName%!=""]Hello %Subscriber:LastName%,[ELSE]Hello,[ENDIF]', "Hello,"),
    ("[IF:%Subscriber:CustomField6%>9]big[ELSE]small[ENDIF]", "big"),         # 10 > 9 as numbers
    ("[IF:%Subscriber:CustomField6%<=10]le[ENDIF]", "le"),
    ("[IF:%Subscriber:CustomField6%>=11]ge[ENDIF]", ""),
    ("{{ if Subscriber:FirstName<> }}Hi {{ Subscriber:FirstName }}{{ else }}Hi there{{ endif }}", "Hi sarah"),
    ("{{ if Subscriber:LastName<> }}Hi {{ Subscriber:LastName }}{{ else }}Hi there{{ endif }}", "Hi there"),
    ("{{ if Subscriber:CustomField5=United States }}US{{ endif }}!", "US!"),
    ("[IF:%Subscriber:CustomField5%=United States][IF:%Subscriber:CustomField6%=10]both[ELSE]one[ENDIF][ENDIF]",
     "both"),
    ("[IF:%Subscriber:FirstName%=%Subscriber:CustomField1%]same[ENDIF]", "same"),
])
def test_conditions(text, expected):
    assert render(text) == expected


def test_an_unclosed_if_runs_to_the_end_and_stray_blocks_stay_literal():
    template = compile_template("a[IF:%Subscriber:CustomField2%=x]b", TEXT)
    assert template.render(CTX) == "a"
    assert template.unknown_tags == ["[IF:%Subscriber:CustomField2%=x]"]
    template = compile_template("a[ENDIF]b[ELSE]", TEXT)
    assert template.render(CTX) == "a[ENDIF]b[ELSE]"
    assert template.unknown_tags == ["[ENDIF]", "[ELSE]"]


def test_modifiers():
    ctx = {"Subscriber:CustomField1": "sarah", "Subscriber:CustomField2": "connor"}
    assert render("Dear [TITLE:%Subscriber:FirstName% %Subscriber:LastName%],", ctx=ctx) == "Dear Sarah Connor,"
    assert render("[UPPER:hi %Subscriber:FirstName%]", ctx=ctx) == "HI SARAH"
    assert render("[LOWER:HI THERE]") == "hi there"
    # markup and entities keep their spelling
    assert render("[UPPER:<b>hi</b>&nbsp;%Subscriber:Company%]", HTML) == "<b>HI</b>&nbsp;SMITH &amp; CO &lt;B&gt;"


def test_spinning_picks_one_variant_per_recipient():
    template = compile_template('[[Hello|Hi {{ Subscriber:FirstName|"there" }}|Hey]] you', TEXT, aliases=ALIASES)
    seen = {template.render(CTX) for _ in range(200)}
    assert seen == {"Hello you", "Hi sarah you", "Hey you"}


def test_random_tags():
    template = compile_template("%Random:Letters:6%-%Random:Numbers:4%-%Random:Alpha:8%", TEXT)
    values = [template.render({}) for _ in range(5)]
    for value in values:
        letters, numbers, alpha = value.split("-")
        assert len(letters) == 6 and letters.isupper() and letters.isalpha()
        assert len(numbers) == 4 and numbers.isdigit()
        assert len(alpha) == 8 and alpha.isalnum()
    assert len(set(values)) > 1


# --- unknown tags -------------------------------------------------------------------------------------
def test_find_unknown_tags():
    text = ("%Subscriber:EmailAddress% %Subscriber:CustomField12% %Subscriber:CustomField13% %Subscriber:Nickname% "
            "{{ Subscriber:FirstName }} {{ Subscribr:FirstName }} {{ shout Subscriber:EmailAddress }} %Link:Forward% "
            "%Link:Unsubscribe% %User:CompanyName% %User:ShoeSize% %Random:FirstName% "
            "%RemoteContent=https://x.example/?e=%Subscriber:EmailAddress%% {{ Event:name }} "
            "%Subscriber:CustomField13%")
    assert find_unknown_tags(text, [12], aliases={"FirstName": 12}) == [
        "%Subscriber:CustomField13%", "%Subscriber:Nickname%", "{{ Subscribr:FirstName }}",
        "{{ shout Subscriber:EmailAddress }}", "%Link:Forward%", "%User:ShoeSize%", "%Random:FirstName%",
        "%RemoteContent=https://x.example/?e=%Subscriber:EmailAddress%%", "{{ Event:name }}",
    ]


def test_known_tags_are_not_reported():
    text = ('%Subscriber:EmailAddress% {{ Subscriber:CustomField5|"x" }} {{ uppercase Subscriber:City }} '
            "%Link:Unsubscribe% %Link:WebBrowser% %Date=F j, Y% {{ dateFormat-Y Now }} [IF:%Subscriber:City%=Paris]"
            "p[ELSE]q[ENDIF] [[a|b]] [UPPER:x] %Random:Numbers:5% %MFROMDomain% {{ Campaign:Name }} %List:Name%")
    assert find_unknown_tags(text, [5, 9], aliases={"city": 9}) == []


def test_link_tags_in_a_subject_are_reported():
    assert find_unknown_tags("News %Link:Unsubscribe%", [], links=()) == ["%Link:Unsubscribe%"]


def test_helpers_with_bad_arguments_are_reported():
    assert find_unknown_tags("{{ ellipsis-x Subscriber:EmailAddress }} {{ uppercase-3 Subscriber:EmailAddress }}", []) \
        == ["{{ ellipsis-x Subscriber:EmailAddress }}", "{{ uppercase-3 Subscriber:EmailAddress }}"]
    # "²" passes str.isdigit() but int() refuses it
    assert find_unknown_tags("{{ ellipsis-² Subscriber:EmailAddress }}", []) == ["{{ ellipsis-² Subscriber:EmailAddress }}"]


# --- the compiled template ----------------------------------------------------------------------------
def test_rendering_runs_no_regular_expression(monkeypatch):
    template = compile_template('<p>Hi {{ Subscriber:FirstName|"there" }} %Subscriber:EmailAddress% '
                                "[IF:%Subscriber:CustomField5%=United States]US[ENDIF] %Date=Y%</p>", HTML,
                                aliases=ALIASES)

    class Boom:
        def __getattr__(self, name):
            raise AssertionError("a regular expression ran per recipient")
    monkeypatch.setattr(tag_compiler, "_TOKEN", Boom())
    for module in (tag_compiler, tag_modifiers, tag_names, html_scan):
        monkeypatch.setattr(module, "re", Boom())
    assert template.render(CTX) == "<p>Hi sarah sarah+news@example.com US 2024</p>"


def test_bind_fills_in_campaign_constants():
    template = compile_template("%User:CompanyName% / %Campaign:CampaignID% / %Subscriber:EmailAddress%", TEXT)
    assert template.keys == {"User:CompanyName", "Campaign:CampaignID", "Subscriber:EmailAddress"}
    bound = template.bind({"User:CompanyName": "Acme", "Campaign:CampaignID": 5})
    assert bound.keys == {"Subscriber:EmailAddress"}
    assert bound.render({"Subscriber:EmailAddress": "a@b.example"}) == "Acme / 5 / a@b.example"
    assert compile_template("%User:CompanyName%", TEXT).bind({"User:CompanyName": "A"}).is_constant


def test_random_parts_are_never_bound():
    bound = compile_template("[[a|b]]%Random:Numbers:3%", TEXT).bind({})
    assert not bound.is_constant


def test_missing_values_render_empty():
    assert render("[%Subscriber:CustomField77%][{{ User:Phone }}]", ctx={}) == "[][]"


def test_system_markers_need_a_slot():
    with pytest.raises(ValueError):
        compile_template("\x00click:0\x00", HTML)
    marked = compile_template("<a href=\"\x00click:0\x00\">x</a>", HTML,
                              system_slots={"click:0": personalize.slot(lambda ctx: "https://t/1", ())})
    assert marked.render({}) == '<a href="https://t/1">x</a>'
