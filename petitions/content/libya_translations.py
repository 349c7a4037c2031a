"""The campaign's own French and Arabic translations of the Libya petition
(petitions/content/libya.py): written for this project, not Amnesty
International's, and credited as the campaign's translation on the page."""

# French typography: the spaces before : ; ! ?, inside « » and in numbers such as 20 000 are
# non-breaking (U+00A0); the Arabic text uses the same character in numbers, which keeps digit
# groups together in right-to-left text.

from typing import Any

TRANSLATIONS: dict[str, dict[str, Any]] = {
    "fr": {
        "credit": "Traduction de la campagne",
        "petition": {
            "title": "Exigez que la Libye cesse de détenir et de vendre des migrants",
            "headline": (
                "La torture, le viol et la détention sont la réalité de nombreux réfugiés et migrants en Libye"
            ),
            "summary": "Des conditions effroyables pour 20 000 migrants enfermés dans des centres de détention",
            "body": (
                "La torture, la détention, l’exploitation et le viol sont des horreurs quotidiennes pour de "
                "nombreux réfugiés et migrants en Libye. Au lieu de mettre fin à ces violations, l’Europe aide la "
                "Libye à piéger des personnes dans des conditions proches de l’esclavage. En formant les "
                "garde-côtes libyens et en leur fournissant des navires pour ramener les migrants dans le pays, les "
                "dirigeants européens se rendent complices du sort tragique des migrants et des réfugiés qui "
                "cherchent à quitter la Libye."
                "\n\n"
                "Ci-dessous : des séquences vidéo, des photos et des documents examinés par Amnesty International "
                "indiquent qu’un bateau offert par l’Italie en avril 2017, le Ras Jadir, a été utilisé par les "
                "garde-côtes libyens lors d’un terrible incident survenu le 6 novembre 2017, au cours duquel leurs "
                "agissements irresponsables ont contribué à ce que jusqu’à 50 personnes périssent noyées."
                "\n\n"
                "Pas moins de 20 000 migrants, réfugiés et demandeurs d’asile sont retenus dans des centres de "
                "détention, à la merci de milices et de groupes armés, sans savoir quand ni même s’ils seront un "
                "jour libérés. Ils sont soumis à des conditions inhumaines – avec un accès très limité à la "
                "nourriture, à l’eau ou aux soins médicaux – et à des traitements brutaux, notamment la torture, le "
                "viol – et même la vente."
            ),
            "call_to_action": (
                "Appelez les dirigeants libyens et européens à protéger les migrants et les réfugiés contre "
                "d’effroyables violations des droits humains."
            ),
            "further_reading": "\n".join(
                [
                    "La responsabilité de la forte hausse du nombre de morts en Méditerranée centrale incombe "
                    "entièrement à l’Europe – 8 août 2018",
                    "Blog : torturés, violés et vendus : nous devons protéger les réfugiés contre de terribles "
                    "violations des droits humains en Libye – 15 décembre 2017",
                    "Libye : les gouvernements européens complices d’atteintes effroyables contre des réfugiés et "
                    "des migrants – 12 décembre 2017",
                    "Rapport : la sombre toile de collusion en Libye – 12 décembre 2017",
                ]
            ),
            "letter_subject": "Exigez que la Libye cesse de détenir et de vendre des migrants",
            "letter_greeting": (
                "Monsieur Fayez Al-Sarraj, Premier ministre de la Libye, et Monsieur Jean-Claude Juncker, Président "
                "de la Commission européenne,"
            ),
            "letter_body": (
                "Je vous écris pour vous faire part de ma vive inquiétude au sujet des informations choquantes "
                "faisant état de violences infligées aux migrants et aux réfugiés en Libye."
                "\n\n"
                "Plus de 20 000 migrants et réfugiés sont actuellement détenus en Libye dans des centres de "
                "détention officiels gérés par des milices et des groupes armés vaguement affiliés au gouvernement. "
                "Ces milices et groupes armés détiennent ces migrants et réfugiés dans des conditions "
                "épouvantables, sans accès à la nourriture, à l’eau ni aux médicaments. Ils commettent constamment "
                "les pires exactions, notamment des actes de torture, de l’extorsion, de la servitude pour dettes "
                "et des agressions sexuelles."
                "\n\n"
                "Je crains profondément qu’en formant, en équipant et en soutenant les garde-côtes libyens, "
                "l’Europe ne piège les migrants et les réfugiés en Libye et n’alimente ces exactions."
            ),
            "letter_demands_intro": (
                "Enfermer des personnes dans la cruauté ne peut pas être une solution ; c’est pourquoi je vous "
                "exhorte à :"
            ),
            "letter_closing": "Veuillez agréer, Messieurs, l’expression de ma haute considération.",
        },
        "demands": [
            "Libérer tous les migrants et réfugiés actuellement détenus dans des centres de détention et mettre fin "
            "à la détention arbitraire des réfugiés et des migrants en Libye.",
            "Enquêter sur toutes les allégations de torture et d’autres mauvais traitements infligés aux réfugiés "
            "et aux migrants en Libye, et veiller à ce que les auteurs présumés soient poursuivis dans le cadre "
            "d’un procès transparent et équitable, afin de mettre fin au cercle vicieux des violences.",
            "Réexaminer vos politiques migratoires respectives afin que les droits humains des réfugiés et des "
            "migrants soient toujours protégés.",
            "Reconnaître officiellement le Haut-Commissariat des Nations unies pour les réfugiés (HCR) et permettre "
            "à cette organisation de s’acquitter pleinement de son mandat, notamment la protection des demandeurs "
            "d’asile et des réfugiés.",
        ],
        "background": [
            {
                "text": (
                    "Le 2 juillet 2019, une frappe aérienne a touché le centre de détention pour migrants de "
                    "Tajoura, près de Tripoli, où plus de 600 personnes étaient détenues. Au moins 53 personnes ont "
                    "été tuées, dont au moins six enfants, et plus de 130 ont été blessées. Le chef des opérations "
                    "de l’ONU en Libye, Ghassan Salamé, a déclaré que l’attaque pouvait clairement constituer un "
                    "crime de guerre."
                ),
                "source_detail": "juillet 2019",
            },
            {
                "text": (
                    "Trois jours plus tard, le Conseil de sécurité de l’ONU a appelé à un cessez-le-feu et a "
                    "déclaré que les conditions dans les centres de détention relevaient de la responsabilité du "
                    "gouvernement libyen. À ce moment-là, plus de 1 000 personnes avaient été tuées dans les "
                    "combats depuis avril 2019."
                ),
                "source_detail": "tel que rapporté à l’époque",
            },
            {
                "text": (
                    "En comptant les survivants de Tajoura, quelque 3 300 migrants et réfugiés étaient toujours "
                    "détenus arbitrairement à Tripoli et dans ses environs, dans des conditions que les agences de "
                    "l’ONU chargées des migrations et des réfugiés ont qualifiées d’inhumaines. L’OIM et le HCR ont "
                    "demandé conjointement la fermeture de ces centres."
                ),
                "source_detail": "juillet 2019",
            },
            {
                "text": (
                    "Le ministre libyen de l’Intérieur, Fathi Bashagha, a déclaré après l’attaque que son "
                    "gouvernement envisageait de fermer tous les centres et de libérer les personnes qui y étaient "
                    "détenues, faute de pouvoir les protéger des frappes aériennes."
                ),
                "source_detail": "juillet 2019",
            },
            {
                "text": (
                    "Au cours des premiers mois de 2019, 1 073 personnes, dont 77 enfants, ont été interceptées ou "
                    "secourues en mer, renvoyées en Libye et placées en détention. Le directeur général de l’OIM, "
                    "António Vitorino, a averti que la Libye n’était pas un lieu sûr où renvoyer des personnes "
                    "ayant tenté de rejoindre l’Europe."
                ),
                "source_detail": (
                    "communiqué de presse « L’OIM s’alarme pour la sécurité des civils libyens et des migrants en "
                    "détention » (IOM Expresses Alarm for Safety of Libyan Civilians and Migrants in Detention)"
                ),
            },
            {
                "text": (
                    "Lorsque les combats ont atteint Tripoli en août 2018, plus de 14 000 civils ont fui leur "
                    "domicile et plus de 2 000 migrants se sont retrouvés pris au milieu des combats. Le secrétaire "
                    "général de l’ONU, António Guterres, s’est ensuite rendu au centre d’Ain Zara, où étaient "
                    "détenues plus de 600 personnes, et s’est dit choqué par la souffrance et le désespoir qu’il y "
                    "a constatés."
                ),
                "source_detail": "même communiqué de presse",
            },
            {
                "text": (
                    "Alors que se poursuivait l’offensive sur Tripoli lancée le 4 avril 2019, la nourriture et les "
                    "fournitures médicales sont venues à manquer dans les centres de détention. Un homme détenu au "
                    "centre de Zintan a déclaré que les détenus, parmi lesquels des femmes et des enfants, "
                    "n’avaient rien pour assurer leur sécurité. Le commissaire européen chargé des migrations, "
                    "Dimitris Avramopoulos, a qualifié ces conditions de honte pour le monde entier."
                ),
                "source_detail": "",
            },
        ],
        "consents": {
            "letter": (
                "Envoyer la lettre ci-dessus à ses destinataires, signée de mon nom et de mon pays. C’est ce que "
                "signifie signer ; ce consentement est donc obligatoire."
            ),
            "reply": (
                "Permettre aux destinataires de me répondre : mon adresse électronique devient l’adresse « Répondre "
                "à » (Reply-To) de la lettre, les destinataires la verront donc. Si cette case reste décochée, les "
                "réponses sont adressées à la campagne."
            ),
            "updates": (
                "M’envoyer par courriel des nouvelles de cette campagne. Je peux les arrêter à tout moment en un "
                "seul clic."
            ),
        },
    },
    "ar": {
        "credit": "ترجمة الحملة",
        "petition": {
            "title": "طالبوا ليبيا بوقف احتجاز المهاجرين وبيعهم",
            "headline": "التعذيب والاغتصاب والاحتجاز هي الواقع الذي يعيشه كثير من اللاجئين والمهاجرين في ليبيا",
            "summary": "ظروف مروعة يعانيها 20 000 مهاجر محتجز في مراكز الاحتجاز",
            "body": (
                "التعذيب والاحتجاز والاستغلال والاغتصاب أهوال يومية يعيشها كثير من اللاجئين والمهاجرين في ليبيا. "
                "وبدلاً من وقف هذه الانتهاكات، تساعد أوروبا ليبيا على إبقاء الناس عالقين في ظروف أشبه بالعبودية. "
                "فمن خلال تدريب خفر السواحل الليبي وتزويده بالسفن لإعادة المهاجرين إلى البلاد، يصبح القادة "
                "الأوروبيون متواطئين في المصير المأساوي للمهاجرين واللاجئين الساعين إلى مغادرة ليبيا."
                "\n\n"
                "أدناه: تشير لقطات مصورة وصور ووثائق راجعتها منظمة العفو الدولية إلى أن قارباً تبرعت به إيطاليا في "
                "أبريل/نيسان 2017، هو «رأس جدير»، استخدمه خفر السواحل الليبي خلال حادثة مروعة وقعت في 6 "
                "نوفمبر/تشرين الثاني 2017، إذ أسهمت تصرفات أفراده المتهورة في غرق ما يصل إلى 50 شخصاً."
                "\n\n"
                "يُحتجز ما يصل إلى 20 000 مهاجر ولاجئ وطالب لجوء في مراكز الاحتجاز، تحت رحمة الميليشيات والجماعات "
                "المسلحة، دون أن يعرفوا متى سيُفرج عنهم، أو ما إذا كان سيُفرج عنهم أصلاً. ويواجهون ظروفاً غير "
                "إنسانية – مع قدر ضئيل من الغذاء والماء والرعاية الطبية – ومعاملة وحشية، بما في ذلك التعذيب "
                "والاغتصاب – بل وحتى البيع."
            ),
            "call_to_action": (
                "ادعوا القادة الليبيين والأوروبيين إلى حماية المهاجرين واللاجئين من الانتهاكات المروعة لحقوق "
                "الإنسان."
            ),
            "further_reading": "\n".join(
                [
                    "مسؤولية الارتفاع الحاد في عدد الوفيات في وسط البحر المتوسط تقع على عاتق أوروبا بالكامل – 8 "
                    "أغسطس/آب 2018",
                    "مدونة: عُذِّبوا واغتُصبوا وبيعوا: يجب أن نحمي اللاجئين من الانتهاكات الفظيعة لحقوق الإنسان في "
                    "ليبيا – 15 ديسمبر/كانون الأول 2017",
                    "ليبيا: الحكومات الأوروبية متواطئة في انتهاكات مروعة ضد اللاجئين والمهاجرين – 12 ديسمبر/كانون "
                    "الأول 2017",
                    "تقرير: شبكة التواطؤ المظلمة في ليبيا – 12 ديسمبر/كانون الأول 2017",
                ]
            ),
            "letter_subject": "طالبوا ليبيا بوقف احتجاز المهاجرين وبيعهم",
            "letter_greeting": (
                "السيد فايز السراج، رئيس وزراء ليبيا، والسيد جان كلود يونكر، رئيس المفوضية الأوروبية، المحترمين،"
            ),
            "letter_body": (
                "أكتب إليكم لأعرب عن بالغ قلقي إزاء التقارير الصادمة عن الانتهاكات التي يتعرض لها المهاجرون "
                "واللاجئون في ليبيا."
                "\n\n"
                "يُحتجز حالياً أكثر من 20 000 مهاجر ولاجئ في ليبيا في مراكز احتجاز رسمية تديرها ميليشيات وجماعات "
                "مسلحة ترتبط ارتباطاً فضفاضاً بالحكومة. وتحتجز هذه الميليشيات والجماعات المسلحة هؤلاء المهاجرين "
                "واللاجئين في ظروف مروعة، دون أن يحصلوا على الغذاء أو الماء أو الدواء. وهي ترتكب باستمرار أفظع "
                "الانتهاكات، بما في ذلك التعذيب والابتزاز والعمل القسري لسداد الديون والاعتداء الجنسي."
                "\n\n"
                "يساورني قلق عميق من أن أوروبا، بتدريبها خفر السواحل الليبي وتجهيزه ودعمه، تُبقي المهاجرين "
                "واللاجئين محاصرين في ليبيا وتؤجج هذه الانتهاكات."
            ),
            "letter_demands_intro": "إن حبس البشر في براثن القسوة لا يمكن أن يكون حلاً، ولذلك أحثكم على ما يلي:",
            "letter_closing": "وتفضلوا بقبول فائق الاحترام والتقدير،",
        },
        "demands": [
            "الإفراج عن جميع المهاجرين واللاجئين المحتجزين حالياً في مراكز الاحتجاز، ووضع حد للاحتجاز التعسفي "
            "للاجئين والمهاجرين في ليبيا.",
            "التحقيق في جميع الادعاءات المتعلقة بالتعذيب وغيره من ضروب سوء المعاملة التي يتعرض لها اللاجئون "
            "والمهاجرون في ليبيا، وضمان ملاحقة المشتبه في ارتكابهم هذه الأفعال قضائياً في محاكمة شفافة وعادلة، من "
            "أجل وضع حد لحلقة الانتهاكات المفرغة.",
            "مراجعة سياسات الهجرة الخاصة بكل منكم لضمان حماية حقوق الإنسان للاجئين والمهاجرين على الدوام.",
            "الاعتراف رسمياً بالمفوضية السامية للأمم المتحدة لشؤون اللاجئين، والسماح لها بالاضطلاع بولايتها كاملةً، "
            "بما في ذلك حماية طالبي اللجوء واللاجئين.",
        ],
        "background": [
            {
                "text": (
                    "في 2 يوليو/تموز 2019، أصابت غارة جوية مركز احتجاز المهاجرين في تاجوراء، قرب طرابلس، حيث كان "
                    "يُحتجز أكثر من 600 شخص. وقُتل ما لا يقل عن 53 شخصاً، من بينهم ستة أطفال على الأقل، وأُصيب أكثر "
                    "من 130 آخرين. وقال رئيس عمليات الأمم المتحدة في ليبيا، غسان سلامة، إن الهجوم قد يشكّل بوضوح "
                    "جريمة حرب."
                ),
                "source_detail": "يوليو/تموز 2019",
            },
            {
                "text": (
                    "بعد ثلاثة أيام، دعا مجلس الأمن التابع للأمم المتحدة إلى وقف إطلاق النار، وقال إن الحكومة "
                    "الليبية تتحمل المسؤولية عن الظروف في مراكز الاحتجاز. وبحلول ذلك الوقت، كان أكثر من 1 000 شخص "
                    "قد قُتلوا في القتال منذ أبريل/نيسان 2019."
                ),
                "source_detail": "حسبما أفادت التقارير في حينه",
            },
            {
                "text": (
                    "كان نحو 3 300 مهاجر ولاجئ، بمن فيهم الناجون من تاجوراء، لا يزالون محتجزين تعسفياً في طرابلس "
                    "وحولها، في ظروف وصفتها وكالتا الأمم المتحدة المعنيتان بالهجرة واللاجئين بأنها غير إنسانية. "
                    "وطالبت المنظمة الدولية للهجرة والمفوضية السامية للأمم المتحدة لشؤون اللاجئين معاً بإغلاق هذه "
                    "المراكز."
                ),
                "source_detail": "يوليو/تموز 2019",
            },
            {
                "text": (
                    "قال وزير الداخلية الليبي، فتحي باشاغا، بعد الهجوم إن حكومته تدرس إغلاق جميع المراكز والإفراج "
                    "عن المحتجزين فيها، لأنها لا تستطيع حمايتهم من الغارات الجوية."
                ),
                "source_detail": "يوليو/تموز 2019",
            },
            {
                "text": (
                    "في الأشهر الأولى من عام 2019، اعتُرض 1 073 شخصاً، من بينهم 77 طفلاً، أو أُنقذوا في البحر، "
                    "وأُعيدوا إلى ليبيا وزُجّ بهم في الاحتجاز. وحذّر المدير العام للمنظمة الدولية للهجرة، أنطونيو "
                    "فيتورينو، من أن ليبيا ليست مكاناً آمناً يُعاد إليه من حاولوا الوصول إلى أوروبا."
                ),
                "source_detail": (
                    "بيان صحفي بعنوان «المنظمة الدولية للهجرة تعرب عن قلقها على سلامة المدنيين الليبيين والمهاجرين "
                    "المحتجزين» (IOM Expresses Alarm for Safety of Libyan Civilians and Migrants in Detention)"
                ),
            },
            {
                "text": (
                    "عندما وصل القتال إلى طرابلس في أغسطس/آب 2018، فرّ أكثر من 14 000 مدني من منازلهم، وعلق أكثر من "
                    "2 000 مهاجر وسط القتال. وزار الأمين العام للأمم المتحدة، أنطونيو غوتيريش، لاحقاً مركز عين "
                    "زارة، الذي كان يُحتجز فيه أكثر من 600 شخص، وقال إنه صُدم من المعاناة واليأس اللذين وجدهما هناك."
                ),
                "source_detail": "البيان الصحفي نفسه",
            },
            {
                "text": (
                    "مع استمرار الهجوم على طرابلس الذي بدأ في 4 أبريل/نيسان 2019، شحّت الإمدادات الغذائية والطبية "
                    "في مراكز الاحتجاز. وقال رجل محتجز في مركز الزنتان إن المحتجزين، ومن بينهم نساء وأطفال، لم يكن "
                    "لديهم ما يحميهم. ووصف مفوض الاتحاد الأوروبي لشؤون الهجرة، ديميتريس أفراموبولوس، هذه الظروف "
                    "بأنها عار على العالم بأسره."
                ),
                "source_detail": "",
            },
        ],
        "consents": {
            "letter": (
                "إرسال الرسالة أعلاه إلى المرسَل إليهم، موقّعةً باسمي واسم بلدي. فهذا هو معنى التوقيع، ولذلك فهذا "
                "الخيار إلزامي."
            ),
            "reply": (
                "السماح للمرسَل إليهم بالرد عليّ: يصبح عنوان بريدي الإلكتروني عنوانَ الرد (Reply-To) في الرسالة، "
                "وبالتالي سيتمكن المرسَل إليهم من رؤيته. إذا تُركت هذه الخانة دون علامة، فستُرسَل الردود إلى الحملة "
                "بدلاً من ذلك."
            ),
            "updates": "إرسال مستجدات هذه الحملة إليّ عبر البريد الإلكتروني. ويمكنني إيقافها في أي وقت بنقرة واحدة.",
        },
    },
}
