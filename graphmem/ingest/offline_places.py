"""Places the offline extractor knows by name alone ("I moved to Lyon", "Brooklyn is
loud"): countries, states and regions, and cities people move to and talk about.

A name found here is typed a location with a weak cue (``offline_words.surface_cues``):
a relation ("works at Austin Energy"), a known entity's type or a given name outweigh
it. Names that are as often a person's ("Sofia", "Georgia", "Jordan", "Victoria",
"Charlotte", "Madison") or a common word ("Nice", "Reading", "Mobile", "Split") are left
out, and so is "Columbia" (a university as often as a city).
"""

from __future__ import annotations

PLACES = frozenset(
    """
    paris london berlin madrid rome tokyo beijing shanghai moscow dublin amsterdam
    vienna prague lisbon athens stockholm oslo copenhagen helsinki warsaw budapest
    brussels zurich geneva munich hamburg barcelona milan seoul mumbai delhi bangalore
    sydney melbourne toronto vancouver montreal chicago boston seattle denver austin
    dallas houston miami atlanta portland phoenix detroit philadelphia nyc la sf
    brooklyn manhattan california texas florida oregon ohio hawaii alaska colorado
    arizona america usa uk england scotland wales ireland france germany spain italy
    portugal greece sweden norway denmark finland poland netherlands belgium
    switzerland austria canada mexico brazil argentina chile peru japan china korea
    india australia egypt kenya nigeria israel turkey russia ukraine vietnam thailand
    europe asia africa alabama arkansas connecticut delaware idaho illinois
    indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan
    minnesota mississippi missouri montana nebraska nevada oklahoma pennsylvania
    tennessee utah vermont virginia washington wisconsin wyoming afghanistan albania
    algeria angola armenia azerbaijan bahamas bahrain bangladesh barbados belarus
    belize bolivia bosnia botswana bulgaria cambodia cameroon colombia croatia cuba
    cyprus czechia ecuador estonia ethiopia fiji ghana guatemala haiti honduras iceland
    indonesia iran iraq jamaica kazakhstan kosovo kuwait laos latvia lebanon liberia
    libya lithuania luxembourg madagascar malawi malaysia maldives malta mauritius
    moldova monaco mongolia montenegro morocco mozambique myanmar namibia nepal
    nicaragua oman pakistan palestine panama paraguay philippines qatar romania rwanda
    senegal serbia singapore slovakia slovenia somalia sudan syria taiwan tanzania
    tunisia uganda uruguay uzbekistan venezuela yemen zambia zimbabwe uae scandinavia
    antarctica caribbean cairo lagos nairobi johannesburg casablanca marrakech tunis
    accra dubai doha riyadh tehran baghdad istanbul ankara jerusalem beirut karachi
    lahore islamabad dhaka kathmandu colombo chennai kolkata hyderabad pune jaipur goa
    bangkok hanoi saigon manila jakarta bali taipei osaka kyoto busan shenzhen
    guangzhou chengdu perth brisbane adelaide auckland wellington bogota caracas quito
    havana guadalajara cancun montevideo edinburgh glasgow manchester liverpool
    birmingham bristol leeds oxford cambridge belfast cork galway lyon marseille
    bordeaux toulouse strasbourg frankfurt cologne stuttgart dusseldorf düsseldorf
    dresden leipzig naples venice turin bologna seville valencia bilbao malaga porto
    krakow kraków gdansk wroclaw bucharest belgrade zagreb ljubljana bratislava vilnius
    riga tallinn kyiv kiev minsk reykjavik bergen gothenburg malmo antwerp rotterdam
    utrecht basel lausanne salzburg innsbruck calgary edmonton ottawa quebec winnipeg
    halifax tuscany provence bavaria catalonia andalusia sicily sardinia crete normandy
    yorkshire cornwall columbus indianapolis nashville memphis louisville baltimore
    milwaukee albuquerque tucson fresno sacramento omaha raleigh oakland minneapolis
    tulsa cleveland tampa honolulu anchorage pittsburgh cincinnati boise spokane
    richmond rochester hartford providence berkeley pasadena scottsdale tempe reno
    hoboken queens bronx harlem newark philly dc evanston
    """.split()
)
PLACES_MULTI = frozenset(
    (
        "new york|los angeles|san francisco|hong kong|new zealand|united states|"
        "united kingdom|south africa|new delhi|rio de janeiro|buenos aires|las vegas|"
        "san diego|new jersey|north carolina|south carolina|sri lanka|saudi arabia|"
        "costa rica|puerto rico|san jose|san antonio|fort worth|kansas city|"
        "colorado springs|new orleans|st louis|salt lake city|ann arbor|palo alto|"
        "mountain view|santa monica|santa barbara|long beach|el paso|staten island|"
        "long island|washington dc|new hampshire|new mexico|north dakota|south dakota|"
        "rhode island|west virginia|czech republic|dominican republic|el salvador|"
        "sierra leone|ivory coast|north korea|south korea|united arab emirates|cape town|"
        "addis ababa|abu dhabi|tel aviv|ho chi minh city|kuala lumpur|sao paulo|são paulo|"
        "mexico city|st petersburg|the hague|bay area|silicon valley|new england|"
        "latin america|south america|north america|middle east|southeast asia|"
        "central america|east africa|west africa"
    ).split("|")
)
