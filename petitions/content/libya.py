"""The petition this service was created for.

The petition's own words (title, facts, letter, demands) are Amnesty
International's, copied exactly from the seed document. The background facts
are ours: figures from the news reports the campaign started from, retold in
our own words with each source named. `tests/test_content.py` checks the
petition's words against the seed document itself.
"""

SLUG = "libya-detention"

PETITION = {
    "slug": SLUG,
    "title": "Demand Libya stop the detention and sale of migrants",
    "headline": "Torture, rape, and detention are the reality for many refugees and migrants in Libya",
    "summary": "Horrific conditions for 20,000 migrants held in detention centres",
    "body": (
        "Torture, detention, exploitation and rape are daily horrors for many refugees and migrants in Libya. "
        "Instead of stopping these abuses, Europe is helping Libya to trap people in slave-like conditions. "
        "By training and providing the Libyan coastguard with ships to transport migrants back to the country, "
        "European leaders are complicit in the tragic fate of migrants and refugees seeking to leave Libya."
        "\n\n"
        "Below: Footage, pictures and documents reviewed by Amnesty International indicate that a boat donated "
        "by Italy in April 2017, the Ras Jadir, was used by the Libyan Coast Guard during a horrific incident on "
        "6 November 2017, where their reckless actions contributed to the drowning of up to 50 people."
        "\n\n"
        "As many as 20,000 migrants, refugees and asylum seekers are being held in detention centres, at the "
        "mercy of militias and armed groups, with no sense of when or if they will ever be released. They face "
        "inhumane conditions - with little access to food, water or medical care - and brutal treatment, "
        "including torture, rape – and even being sold."
    ),
    "call_to_action": (
        "Call on Libyan and European leaders to protect migrants and refugees from horrific human rights abuses."
    ),
    "further_reading": "\n".join(
        [
            "Responsibility for surging death toll in Central Mediterranean laid squarely at Europe's door"
            " - Aug 8, 2018",
            "Blog: Tortured, raped and sold: We must protect refugees from terrible human rights abuses in Libya"
            " - Dec 15, 2017",
            "Libya: European governments complicit in horrific abuse of refugees and migrants  -Dec 12, 2017",
            "Report: Libya's dark web of collusion - Dec 12, 2017",
        ]
    ),
    "letter_subject": "Demand Libya stop the detention and sale of migrants",
    "letter_greeting": (
        "Dear Prime Minister of Libya Fayez Al-Sarraj and President of the European Commission Jean Claude Juncker,"
    ),
    "letter_body": (
        "I am writing to express my grave concern regarding the shocking reports of abuses of migrants and "
        "refugees in Libya."
        "\n\n"
        "More than 20 000 migrants and refugees are currently being held in Libya in official detention centers "
        "run by militias and armed groups loosely affiliated with the Government. These militias and armed groups "
        "are holding these migrants and refugees in horrific conditions, without access to food, water or "
        "medication. They constantly commit the most appalling abuses, including torture, extortion, bonded "
        "labour and sexual assault."
        "\n\n"
        "I’m deeply worried that by training, equipping and supporting the Libyan coastguard, Europe is trapping "
        "migrants and refugees in Libya and fuelling these abuses."
    ),
    "letter_demands_intro": "Confining people in cruelty cannot be a solution, therefore I urge you to:",
    "letter_closing": "Yours sincerely,",
    "goal": 25000,
}

DEMANDS = [
    "Release all migrants and refugees currently in detention centers and end the arbitrary detention of "
    "refugees and migrants in Libya.",
    "Investigate all allegations of torture and other ill-treatment of refugees and migrants in Libya, and "
    "ensure that the suspected perpetrators are prosecuted in a transparent and fair trial to put an end to "
    "the vicious cycle of abuse.",
    "Review your respective migration policies to ensure that the human rights of refugees and migrants are "
    "always protected.",
    "Formally recognize the UNHCR and allow the organization to carry out its full mandate including the "
    "protection of asylum seekers and refugees.",
]

# Placeholder addresses on a reserved example domain (RFC 2606): staff set the
# real ones in the admin before letters may leave.
TARGETS = [
    {
        "name": "Fayez Al-Sarraj",
        "title": "Prime Minister of Libya",
        "organisation": "Government of National Accord",
        "email": "prime-minister@libya-government.example",
    },
    {
        "name": "Jean-Claude Juncker",
        "title": "President of the European Commission",
        "organisation": "European Commission",
        "email": "president@european-commission.example",
    },
]

BACKGROUND = [
    {
        "text": (
            "On 2 July 2019 an air strike hit the migrant detention centre at Tajoura, near Tripoli, where more "
            "than 600 people were held. At least 53 people were killed, at least six of them children, and more "
            "than 130 were wounded. The head of the UN's operations in Libya, Ghassan Salamé, said the attack "
            "could clearly constitute a war crime."
        ),
        "source_name": "Report on the UN Security Council statement, citing Al Jazeera",
        "source_detail": "July 2019",
    },
    {
        "text": (
            "Three days later the UN Security Council called for a ceasefire, and said the conditions in the "
            "detention centres are the responsibility of the Libyan Government. By then more than 1,000 people "
            "had been killed in the fighting since April 2019."
        ),
        "source_name": "UN Security Council statement of 5 July 2019",
        "source_detail": "as reported at the time",
    },
    {
        "text": (
            "Counting the survivors of Tajoura, some 3,300 migrants and refugees were still held arbitrarily in "
            "and around Tripoli, in conditions the UN's migration and refugee agencies called inhumane. IOM and "
            "UNHCR together demanded that the centres be closed."
        ),
        "source_name": "Joint statement of IOM and UNHCR",
        "source_detail": "July 2019",
    },
    {
        "text": (
            "Libya's interior minister, Fathi Bashagha, said after the attack that his government was considering "
            "closing all the centres and releasing the people held in them, because it could not protect them "
            "from air strikes."
        ),
        "source_name": "Report on the remarks of Libya's interior minister",
        "source_detail": "July 2019",
    },
    {
        "text": (
            "In the first months of 2019, 1,073 people, 77 of them children, were intercepted or rescued at sea, "
            "returned to Libya and locked up in detention. IOM's Director General, António Vitorino, warned that "
            "Libya is not a safe place to send back people who tried to reach Europe."
        ),
        "source_name": "International Organization for Migration (IOM)",
        "source_detail": "press release: IOM Expresses Alarm for Safety of Libyan Civilians and Migrants in Detention",
    },
    {
        "text": (
            "When fighting reached Tripoli in August 2018, more than 14,000 civilians fled their homes and over "
            "2,000 migrants were caught in the fighting. The UN Secretary-General, António Guterres, later visited "
            "the Ain Zara centre, holding more than 600 people, and said he was shocked by the suffering and "
            "despair he found there."
        ),
        "source_name": "International Organization for Migration (IOM)",
        "source_detail": "same press release",
    },
    {
        "text": (
            "As the offensive on Tripoli launched on 4 April 2019 went on, food and medical supplies ran short in "
            "the detention centres. A man held at the Zintan centre said the detainees, women and children among "
            "them, had nothing to keep them safe. The EU's migration commissioner, Dimitris Avramopoulos, called "
            "the conditions a disgrace for the whole world."
        ),
        "source_name": "InfoMigrants",
        "source_detail": "",
    },
]

CONSENTS = {
    "letter": (
        "Send the letter above to its recipients, signed with my name and country. "
        "This is what signing means, so it is required."
    ),
    "reply": (
        "Let the recipients reply to me: my email address becomes the letter's Reply-To, so the recipients will "
        "see it. Leave this unticked and replies come to the campaign instead."
    ),
    "updates": "Email me updates about this campaign. I can stop them at any time with one click.",
}
