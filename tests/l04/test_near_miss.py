"""The semantic cache's second stage, alone: near misses of every kind, and paraphrases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from services.kit.near_miss import WORDS, NearMissCheck, Words
from services.kit.word_forms import name_form, related, stem

PAIRS = Path(__file__).resolve().parents[1] / "data" / "cache_pairs.jsonl"
check = NearMissCheck()


@pytest.mark.parametrize(
    ("cached", "asked", "kind"),
    [
        ("Convert 100 Fahrenheit to Celsius.", "Convert 100 Celsius to Fahrenheit.", "order"),
        ("Move the files from staging to production.",
         "Move the files from production to staging.", "order"),
        ("Did the tenant sue the landlord?", "Did the landlord sue the tenant?", "order"),
        ("Subtract 3 from 10.", "Subtract 10 from 3.", "order"),
        ("Why did the guest thank the host?", "Why did the host thank the guest?", "order"),
        ("Redirect port 80 traffic from HTTP to HTTPS.",
         "Redirect port 80 traffic from HTTPS to HTTP.", "order"),
        ("Summarize the benefits of event sourcing.",
         "Summarize the drawbacks of event sourcing.", "antonym"),
        ("Is it legal to park here overnight?", "Is it illegal to park here overnight?",
         "antonym"),
        ("How do I make the signal stronger?", "How do I make the signal weaker?", "antonym"),
        ("Which mushrooms are safe to eat?", "Which mushrooms aren't safe to eat?", "negation"),
        ("A cake recipe with eggs, please.", "A cake recipe without eggs, please.", "negation"),
        ("Give me 3 tips for writing clean code.", "Give me seven tips for writing clean code.",
         "number"),
        ("What is 2.5% of 400?", "What is 25% of 400?", "number"),
        ("How many grams of sugar are in a can of cola?",
         "How many ounces of sugar are in a can of cola?", "unit"),
        ("What are the opening hours of the Louvre?", "What are the opening hours of the Prado?",
         "entity"),
        ("Translate 'see you soon' into German.", "Translate 'see you soon' into Dutch.",
         "language"),
        ("What is the capital of Italy?", "¿Cuál es la capital de Italia?", "language"),
        ("Return our office locations as JSON.", "Return our office locations as YAML.",
         "format"),
        ("List every table in the staging database.",
         "Drop every table in the staging database.", "action"),
        ("Grant the analytics team read access to billing.",
         "Revoke the analytics team's read access to billing.", "action"),
        ("Turn on the firewall on the staging server.",
         "Disable the firewall on the staging server.", "action"),
        ("What is the deepest lake in Europe?", "What is the shallowest lake in Europe?",
         "antonym"),
        ("Review the pending refunds.", "Issue the pending refunds.", "action"),
    ],
)  # fmt: skip
def test_a_near_miss_is_refused_and_says_what_differs(cached: str, asked: str, kind: str) -> None:
    refusal = check.compare(cached, asked)
    assert refusal is not None and refusal.kind == kind, refusal
    assert refusal.reason
    assert check.compare(asked, cached) is not None, "the check is symmetric"


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("How do I reset my password?", "I forgot my password, how can I reset it?"),
        ("What's the difference between TCP and UDP?", "Difference between UDP and TCP?"),
        ("In Python, how do I sort a list?", "How do I sort a list in Python?"),
        ("Give me three ideas for a picnic.", "Give me 3 picnic ideas."),
        ("How do I turn on dark mode?", "How do I enable dark mode?"),
        ("Show me the running containers.", "List the running containers."),
        ("how do i revrse a string in javascript", "How do I reverse a string in JavaScript?"),
        ("Which is bigger, the Sun or the Earth?", "Which is larger: the Earth or the Sun?"),
        ("How do I merge PDFs?", "How do I merge PDF files?"),
        (
            "what are teh main causes of climate change",
            "What are the main causes of climate change?",
        ),
        ("Is drinking coffee bad for you?", "Is coffee bad for you?"),
        (
            "Explain how cosine similarity differs from dot product for comparing embeddings.",
            "For comparing embeddings, how is dot product different from cosine similarity?",
        ),
        (
            "Can you please tell me how I get a refund for an item that arrived damaged?",
            "How do I get a refund for a damaged item I received?",
        ),
        ("Solve for x: 3x + 7 = 22", "what is x if 3x+7=22"),
        ("How does compound interest work?", "Explain how compound interest works."),
        ("Summarize the plot of Moby-Dick.", "Give me a summary of Moby-Dick's plot."),
    ],
)
def test_a_paraphrase_passes(cached: str, asked: str) -> None:
    assert check.compare(cached, asked) is None


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("How do I redirect stderr to stdout in bash?", "bash: send stderr to stdout"),
        ("How long does homemade soup last in the fridge?",
         "how many days can i keep homemade soup in the refrigerator"),
        ("Which exercises help build stronger knees?",
         "What are good exercises to strengthen my knees?"),
        ("How do I create a pivot table in Excel?", "how to make a pivot table in excel"),
    ],
)  # fmt: skip
def test_an_action_named_on_one_side_only_in_passing_or_for_another_verb_passes(
    cached: str, asked: str
) -> None:
    assert check.compare(cached, asked) is None
    assert check.compare(asked, cached) is None


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("What is a Kubernetes namespace?", "Create a Kubernetes namespace."),
        ("What is a Kubernetes namespace?", "How do I create a Kubernetes namespace?"),
        ("Explain Docker volumes.", "How do I back up Docker volumes?"),
        ("Show me the cron jobs.", "Run the cron jobs."),
        ("Who are the users in the organization?", "Delete the users in the organization."),
        ("How do I enable the firewall on Ubuntu?", "How do I turn the firewall off on Ubuntu?"),
    ],
)  # fmt: skip
def test_an_action_asked_for_on_one_side_only_or_one_that_harms_is_refused(
    cached: str, asked: str
) -> None:
    """One side asks for something done, the other to be told about it (or, for an action
    that harms, names no action at all)."""
    for x, y in ((cached, asked), (asked, cached)):
        refusal = check.compare(x, y)
        assert refusal is not None and refusal.kind == "action", refusal


def test_a_clause_moved_to_the_front_passes_where_two_words_trading_places_does_not() -> None:
    """Said in other words, a question may front a clause ("at sea level, ..."), which moves
    every word around it; a swap puts two words in each other's very place."""
    assert (
        check.compare(
            "What's the boiling point of water at sea level in Celsius?",
            "At sea level, at what temperature in Celsius does water boil?",
        )
        is None
    )
    assert (
        check.compare(
            "How do I convert Celsius to Fahrenheit?",
            "What is the formula to convert Celsius into Fahrenheit?",
        )
        is None
    )
    for cached, asked in (
        ("Did Brutus betray Caesar?", "Did Caesar betray Brutus?"),
        (
            "In Python, how do I convert a list of strings into a single comma-separated string?",
            "python: turning one comma-separated string into a list of strings, how?",
        ),
    ):
        refusal = check.compare(cached, asked)
        assert refusal is not None and refusal.kind == "order", refusal


@pytest.mark.parametrize(
    ("cached", "asked", "edited"),
    [
        ("What is the population of Canada?", "How many people live in Canada?",
         "What is the area of Canada?"),
        ("How do I undo the last git commit?", "How can I revert my most recent git commit?",
         "How do I undo the last git commit in a submodule?"),
        ("Describe the process of photosynthesis in plants.",
         "How does photosynthesis work in plants?",
         "Describe the process of photosynthesis in algae."),
    ],
)  # fmt: skip
def test_a_request_said_in_other_words_passes_where_the_same_change_made_in_place_does_not(
    cached: str, asked: str, edited: str
) -> None:
    """A paraphrase rewords around a word the lists do not know ("population" / "people
    live"); a near miss edits the request in place. The first passes, the second not."""
    assert check.compare(cached, asked) is None
    assert check.compare(asked, cached) is None
    refusal = check.compare(cached, edited)
    assert refusal is not None and refusal.kind in {"substitution", "qualifier"}, refusal


@pytest.mark.parametrize(
    ("cached", "asked", "kind"),
    [
        # Words no list names: one in place of another is refused as such.
        ("What's a good name for a pet cat?", "What's a good name for a pet dog?",
         "substitution"),
        ("Make the retry policy lenient.", "Make the retry policy strict.", "substitution"),
        ("Is this matrix sparse?", "Is this matrix dense?", "substitution"),
        ("How do I add an index to the orders table?",
         "How do I add a column to the orders table?", "substitution"),
        ("Which is the most common bird in Britain?", "Which is the rarest bird in Britain?",
         "substitution"),
        ("Where was Marie Curie born?", "When was Marie Curie born?", "question"),
        ("Who designed the Eiffel Tower?", "Why was the Eiffel Tower designed?", "question"),
        ("How do I export all users?", "How do I export one user?", "quantity"),
        (
            "Write a SQL statement that copies every row from orders_staging into orders.",
            "Write a SQL statement that copies every row from orders into orders_staging.",
            "order",
        ),
        ("python check if set a is a subset of set b",
         "python check if set b is a subset of set a", "order"),
        ("How do I run a database migration before the new pods start during a Helm upgrade?",
         "During a Helm upgrade, what's the way to run a DB migration once the new pods have "
         "started?", "antonym"),
        ("Summarize the plot of Moby-Dick.",
         "Give me a summary of the plot of Moby-Dick in a table.", "format"),
        ("How do I get the size of every table in a PostgreSQL database?",
         "How do I get the size of the largest table in a PostgreSQL database?", "quantity"),
        ("How do I copy a file to a Docker container?",
         "How do I copy a file from a Docker container?", "order"),
        ("Can I bring food on a plane to Australia?",
         "Am I allowed to take food with me when flying out of Australia?", "order"),
        ("Delete each stale branch.", "Delete any stale branch.", "quantity"),
        ("What is the longest river in Africa?", "What are the longest rivers in Africa?",
         "quantity"),
        ("Which bank holidays fall on a Friday this year?",
         "Which bank holidays fall on a Friday next year?", "time"),
        ("How can I learn to draw online?", "How can I learn to draw online for free?",
         "condition"),
        ("What is a normal blood pressure for teenagers?",
         "What is a normal blood pressure for teenagers during exercise?", "condition"),
        ("git push my branch to origin", "git force-push my branch to origin", "action"),
        ("Stop the EC2 instance i-0abc.", "Terminate the EC2 instance i-0abc.", "action"),
        ("node: read a file asynchronously", "node: read a file synchronously", "substitution"),
        ("Best free video editor for Linux?", "Best video editor for Linux?", "condition"),
        ("How do I block an IPv4 address?", "How do I block an IPv6 address?", "entity"),
        ("sheets: subtract column B from column C", "sheets: subtract column C from column B",
         "order"),
        ("Which fruits are rich in vitamin C?", "Which fruits are rich in vitamin K?",
         "substitution"),
        # A word only one adds inside the phrase both name, or a phrase only one adds.
        ("What does a software engineer earn in Berlin?",
         "What does a senior software engineer earn in Berlin?", "qualifier"),
        ("How do I undo a commit in git?", "How do I undo several commits in git?",
         "qualifier"),
        ("How do I clean a cast iron pan?", "How do I clean a rusty cast iron pan?",
         "qualifier"),
        ("How do I run a Flask app?", "How do I run a Flask app in production?", "qualifier"),
        ("What are good vegetarian restaurants in Montreal?",
         "What are good vegetarian restaurants in Montreal that are open late?", "qualifier"),
        ("How do I install Python packages?",
         "How do I install Python packages as a beginner?", "qualifier"),
        ("Can someone with O+ blood donate to B+?", "Can someone with B+ blood donate to O+?",
         "order"),
        ("Can I substitute baking soda for baking powder?",
         "Can I substitute baking powder for baking soda?", "order"),
        ("I earn 3000 monthly, how much is that per year?",
         "I earn 3000 monthly, how much is that per month?", "unit"),
        ("In a merge conflict, how do I keep my version of the file?",
         "In a merge conflict, how do I keep their version of the file?", "antonym"),
        ("How do I redirect www.example.com to example.com in nginx?",
         "How do I redirect example.com to www.example.com in nginx?", "order"),
        ("excel: format a date as dd/mm/yyyy", "excel: format a date as yyyy-mm-dd",
         "substitution"),
        ("What's the cheapest way from the airport to downtown?",
         "What's the fastest way from the airport to downtown?", "substitution"),
        ("explain recursion in simple terms", "explain recursion in simple terms, en español",
         "language"),
        ("A packing list for the beach as a checklist",
         "A packing list for the beach as one comma-separated line", "format"),
        ("A 2 TB disk is how many GiB?", "A 2 TB disk is how many GB?", "unit"),
        ("How has remote work changed city centres?", "How will remote work change city centres?",
         "time"),
        ("Move last week's files from /srv/inbox to /srv/done.",
         "Move last week's files from /srv/done to /srv/inbox.", "order"),
        ("Which song topped the charts in 1980?", "Which song topped the charts in the 1980s?",
         "unit"),
        ("How do I make a curry hotter?", "How do I make a curry milder?", "antonym"),
        # "make" stands for creating, not for an action asked outright or one that destroys.
        ("What is a Kubernetes namespace?", "Create a Kubernetes namespace.", "action"),
        ("How do I make the logs smaller?", "How do I delete the logs?", "action"),
        ("how do i count the files in a directory",
         "how do i count the files in a directory including subdirectories", "qualifier"),
        # A word put into the same request, nothing else changed, wherever it stands.
        ("How long should I bake salmon in the oven?",
         "How long should I bake frozen salmon in the oven?", "qualifier"),
        ("How do I center an image in CSS?", "How do I center an image vertically in CSS?",
         "qualifier"),
        ("How do I count the lines of code in a git repository?",
         "How do I count the lines of code I wrote myself in a git repository?", "qualifier"),
        ("What should I pack for a day hike if it rains?", "What should I pack for a day hike?",
         "qualifier"),
        # ... or in place of a determiner.
        ("How do I remove all Docker images?", "How do I remove unused Docker images?",
         "qualifier"),
        # Each number keeps its unit: the same words in another order ask the other way.
        ("Convert 250 pounds to kilograms.", "how many pounds is 250 kg?", "order"),
        # A change and a size that point opposite ways.
        ("How do I increase the font size in VS Code?",
         "vs code: how can I make the text size smaller?", "antonym"),
        ("How do I prepare for a review as the manager giving it?",
         "How do I prepare for a review as the employee receiving it?", "antonym"),
    ],
)  # fmt: skip
def test_a_word_in_place_of_another_or_a_narrower_request_is_a_near_miss(
    cached: str, asked: str, kind: str
) -> None:
    refusal = check.compare(cached, asked)
    assert refusal is not None and refusal.kind == kind, refusal
    assert check.compare(asked, cached) is not None


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("How do I delete a branch in git?", "How can I remove a git branch?"),
        ("Which is bigger, the Sun or the Earth?", "Which is larger: the Sun or the Earth?"),
        ("Who invented the telephone?", "Who was the inventor of the telephone?"),
        ("What is the capitol of Australia?", "What is the capital of Australia?"),
        ("Why do leaves change color in the fall?", "Why do leaves change colour in autumn?"),
        ("What causes thunder?", "Why does thunder happen?"),
        ("How do I display hidden files in Finder?", "How do I show hidden files in Finder?"),
        ("What time zone is Denver in?", "denver is in which timezone?"),
        ("How do I vacuum a table in PostgreSQL?", "postgres: vacuum a table, how?"),
        ("How do I list my S3 buckets?", "how do i list my s3 buckets"),
        ("What currency do they use in Chile?", "what currency do chileans use?"),
        ("How long should I steep green tea?", "how many minutes do i steep green tea"),
        ("How do I crop a video without losing quality?", "crop a video w/o losing quality"),
        ("list all pods in every namespace with kubectl", "k8s: show pods in all namespaces"),
        ("How do I delete a tag in git locally?", "Delete a local git tag"),
        (
            "aws cli command to list my EC2 instances",
            "How do I list my EC2 instances with the AWS command line?",
        ),
        ("difference between map and forEach in js", "JavaScript: map vs forEach difference?"),
        # Words each adds in the same place, or a frame around the question, narrow nothing.
        ("How do I pick a good watermelon?", "How can I choose a ripe watermelon?"),
        ("How do I install Node.js on Ubuntu?", "how to install nodejs on ubuntu"),
        ("How do I create a pivot table in Excel?", "how to make a pivot table in excel"),
        ("What will happen if I delete a git branch?", "What happens if I delete a git branch?"),
        ("Format the date as YYYY-MM-DD", "format the date like yyyy-mm-dd"),
        ("How do I write a good cover letter?", "Tips for writing a strong cover letter?"),
        ("why do cats purr", "what is the reason cats purr"),
        ("Is drinking coffee bad for you?", "Is coffee bad for you?"),
        (
            "Do I need a visa to visit Japan as a US citizen for two weeks?",
            "as an american going to japan for 2 weeks of vacation, do i need a visa",
        ),
    ],
)
def test_a_synonym_a_derived_word_or_a_misspelling_in_place_of_a_word_passes(
    cached: str, asked: str
) -> None:
    assert check.compare(cached, asked) is None
    assert check.compare(asked, cached) is None


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("Which planet is closest to the sun?", "What planet is nearest to the Sun?"),
        ("When did the Titanic sink?", "In what year did the Titanic sink?"),
        ("How much water should I drink each day?", "How much water should I drink daily?"),
        ("What is the smallest country in the world?", "Which country is the smallest on Earth?"),
        ("How does a bill become a law in the US?",
         "How does a bill become law in the United States?"),
        ("How many continents are there?", "What is the number of continents?"),
    ],
)  # fmt: skip
def test_a_paraphrase_naming_a_thing_another_way_passes(cached: str, asked: str) -> None:
    """A superlative is no action, "when" asks for the year, a name has other spellings, and
    the noun "number" is no numbered list."""
    assert check.compare(cached, asked) is None
    assert check.compare(asked, cached) is None


@pytest.mark.parametrize(
    ("cached", "asked", "kind"),
    [
        ("In what year did the Titanic sink?", "In what month did the Titanic sink?", "unit"),
        ("Close the ticket.", "Which ticket is the closest?", "action"),
        ("What is the population of the United States?",
         "What is the population of the United Kingdom?", "entity"),
        ("List the steps as a numbered list.", "List the steps as bullet points.", "format"),
    ],
)  # fmt: skip
def test_the_readings_that_let_paraphrases_pass_still_see_a_difference(
    cached: str, asked: str, kind: str | None
) -> None:
    """ "When" stands for any unit of time, so it does not tell a year from a month: both pass."""
    refusal = check.compare(cached, asked)
    assert (refusal.kind if refusal else None) == kind, refusal


def test_numbers_are_read_from_digits_and_words() -> None:
    reading = check.read("Split 1,200 rows into twenty five batches of 48, then 3.5 more")
    assert reading.numbers == [1200, 25, 48, 3.5]
    assert check.read("a one-off job").numbers == [], "'one' alone is an article, not a count"


def test_a_derived_word_a_misspelling_or_a_longer_name_is_a_form_of_the_word() -> None:
    assert related("invent", "inventor") and related("differ", "differenc")
    assert related("capitol", "capital") and related("revr", "rever")  # "revrse" stemmed
    assert related("pdf", "pdfs") and related("ture", "true")
    assert not related("post", "port"), "two words, not a typo"
    assert not related("synchronously", "asynchronously"), "a prefix, not a typo"
    assert not related("vitaminc", "vitamind"), "a last letter names something else"
    assert name_form("postgres", "postgresql") and name_form("brazil", "brazilians")
    assert not name_form("java", "javascript")


def test_the_stem_is_shared_by_the_forms_of_a_word() -> None:
    assert stem("hottest") == stem("hot")
    assert stem("largest") == stem("large")
    assert stem("files") == stem("file")
    assert stem("running") == stem("run")


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [*value, *(leaf for v in value.values() for leaf in _leaves(v))]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_every_entry_of_the_word_lists_is_a_word() -> None:
    """YAML reads a bare on/no/yes as a boolean: each must be quoted."""
    raw = yaml.safe_load(WORDS.read_text())
    assert [leaf for leaf in _leaves(raw) if not isinstance(leaf, str)] == []
    words = Words.load()
    assert words.actions[stem("drop")] == words.actions[stem("delete")] == "delete"
    assert "not" in words.negations and "on" in words.role_markers


def _dev_pairs() -> list[dict[str, object]]:
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    return [p for p in pairs if p["split"] == "dev"]


def test_the_second_stage_refuses_every_destructive_pair_of_the_dev_half() -> None:
    """Whatever the first stage's similarity: a destructive action is never served."""
    destructive = [p for p in _dev_pairs() if p.get("destructive")]
    assert len(destructive) >= 15
    passed = [p for p in destructive if check.compare(str(p["a"]), str(p["b"])) is None]
    assert not passed
