"""Norwegian Bokmål for the dashboard; `python scripts/translations_nb.py` writes app/translations/nb from it.

One source of truth that a reviewer can read as a table; the .po and .mo files are generated.
"""

NB = {
    "Choose a new password first.": "Velg et nytt passord først.",
    "The form has expired or did not come from Flokk. Go back, reload the page and try again.":
        "Skjemaet er utløpt eller kom ikke fra Flokk. Gå tilbake, last siden på nytt og prøv igjen.",
    "Please sign in again.": "Logg inn på nytt.",
    "Admin %(email)s created": "Administrator %(email)s er opprettet",
    "One-time password (shown only now; it must be changed at the first sign-in)":
        "Engangspassord (vises bare nå; det må byttes ved første innlogging)",
    "The grant is added.": "Rettigheten er lagt til.",
    "The grant is removed.": "Rettigheten er fjernet.",
    "The account is activated.": "Kontoen er aktivert.",
    "The account is deactivated.": "Kontoen er deaktivert.",
    "New one-time password for %(email)s": "Nytt engangspassord for %(email)s",
    "API token %(name)s created": "API-nøkkelen %(name)s er opprettet",
    "The token (shown only now; send it as Authorization: Bearer ...)":
        "Nøkkelen (vises bare nå; send den som Authorization: Bearer ...)",
    "The API token is revoked.": "API-nøkkelen er trukket tilbake.",
    "Sign-in was refused.": "Innloggingen ble avvist.",
    "The two new passwords differ.": "De to nye passordene er ikke like.",
    "Your password is changed.": "Passordet ditt er endret.",
    "School %(name)s added.": "Skolen %(name)s er lagt til.",
    "The device is moved.": "Enheten er flyttet.",
    "“%(command)s” needs a central admin's approval: request %(id)s is waiting.":
        "«%(command)s» må godkjennes av en sentral administrator: forespørsel %(id)s venter.",
    "“%(command)s” is queued for %(count)s device(s).": "«%(command)s» er lagt i kø for %(count)s enhet(er).",
    "Group %(name)s created.": "Gruppen %(name)s er opprettet.",
    "The group is deleted.": "Gruppen er slettet.",
    "The enrollment link is revoked: devices can no longer enrol with it.":
        "Innrulleringslenken er trukket tilbake: enheter kan ikke lenger rulles inn med den.",
    "Approved: %(count)s command(s) queued.": "Godkjent: %(count)s kommando(er) lagt i kø.",
    "The request is rejected.": "Forespørselen er avvist.",
    "Time": "Tid",
    "Command": "Kommando",
    "Device": "Enhet",
    "Status": "Status",
    "By": "Av",
    "No commands.": "Ingen kommandoer.",
    "Name": "Navn",
    "Serial number": "Serienummer",
    "School": "Skole",
    "Group": "Gruppe",
    "Platform": "Plattform",
    "State": "Tilstand",
    "Last seen": "Sist sett",
    "Device %(id)s": "Enhet %(id)s",
    "No devices.": "Ingen enheter.",
    "Role": "Rolle",
    "central admin": "sentral administrator",
    "central helpdesk": "sentral brukerstøtte",
    "school ICT contact": "IKT-kontakt på skolen",
    "auditor": "revisor",
    "All schools": "Alle skoler",
    "active": "aktiv",
    "deactivated": "deaktivert",
    "last sign-in": "sist innlogget",
    "never": "aldri",
    "Rights": "Rettigheter",
    "Source": "Kilde",
    "all schools": "alle skoler",
    "Remove": "Fjern",
    "No rights.": "Ingen rettigheter.",
    "Give a right": "Gi en rettighet",
    "Add": "Legg til",
    "Account": "Konto",
    "Deactivate": "Deaktiver",
    "Activate": "Aktiver",
    "New one-time password": "Nytt engangspassord",
    "Admins": "Administratorer",
    "Email": "E-post",
    "Sign-in": "Innlogging",
    "Active": "Aktiv",
    "password": "passord",
    "yes": "ja",
    "no": "nei",
    "New admin": "Ny administrator",
    "Create admin": "Opprett administrator",
    "API tokens": "API-nøkler",
    "Expires": "Utløper",
    "Last used": "Sist brukt",
    "Revoke": "Trekk tilbake",
    "No API tokens.": "Ingen API-nøkler.",
    "New API token": "Ny API-nøkkel",
    "Days valid": "Gyldig i dager",
    "Create token": "Opprett nøkkel",
    "Approvals": "Godkjenninger",
    "Pending": "Venter",
    "All": "Alle",
    "Devices": "Enheter",
    "Reason": "Begrunnelse",
    "Requested by": "Bedt om av",
    "Approve": "Godkjenn",
    "Why not?": "Hvorfor ikke?",
    "Reject": "Avvis",
    "No requests.": "Ingen forespørsler.",
    "Audit log": "Revisjonslogg",
    "From": "Fra",
    "To": "Til",
    "Action": "Handling",
    "Outcome": "Utfall",
    "Show": "Vis",
    "Export CSV": "Eksporter CSV",
    "Time (UTC)": "Tid (UTC)",
    "Who": "Hvem",
    "What": "Hva",
    "Target": "Gjelder",
    "Details": "Detaljer",
    "No events.": "Ingen hendelser.",
    "Older": "Eldre",
    "Schools": "Skoler",
    "Groups": "Grupper",
    "Enrollment": "Innrullering",
    "Commands": "Kommandoer",
    "Password": "Passord",
    "Sign out": "Logg ut",
    "none": "ingen",
    "Model": "Modell",
    "supervised": "overvåket",
    "Move to a group": "Flytt til en gruppe",
    "No group": "Ingen gruppe",
    "Move": "Flytt",
    "Send a command": "Send en kommando",
    "Erasing a device needs a reason and a central admin's approval before it is sent.":
        "Sletting av en enhet krever en begrunnelse og godkjenning fra en sentral administrator før den sendes.",
    "Send": "Send",
    "Recent commands": "Siste kommandoer",
    "Search": "Søk",
    "name, serial number, UDID": "navn, serienummer, UDID",
    "Next page": "Neste side",
    "Enrollment link": "Innrulleringslenke",
    "Enrollment link for %(school)s": "Innrulleringslenke for %(school)s",
    "The enrollment link is created.": "Innrulleringslenken er opprettet.",
    "Open this address in Safari on the iPad to enrol it:": "Åpne denne adressen i Safari på iPaden for å rulle den inn:",
    "Label": "Merkelapp",
    "Back to enrollment links": "Tilbake til innrulleringslenkene",
    "Enrollment links": "Innrulleringslenker",
    "Uses": "Bruk",
    "Show link": "Vis lenke",
    "No enrollment links yet.": "Ingen innrulleringslenker ennå.",
    "New enrollment link": "Ny innrulleringslenke",
    "Group (name)": "Gruppe (navn)",
    "Expires after": "Utløper etter",
    "Max uses": "Maks antall bruk",
    "Create link": "Opprett lenke",
    "Error": "Feil",
    "That did not work": "Det gikk ikke",
    "Sign in first": "Logg inn først",
    "Not allowed": "Ikke tillatt",
    "Not found": "Ikke funnet",
    "Conflict": "Konflikt",
    "Too late": "For sent",
    "Please check the input": "Sjekk det du har fylt inn",
    "Too many attempts": "For mange forsøk",
    "Back": "Tilbake",
    "Front page": "Forsiden",
    "Kind": "Type",
    "Delete": "Slett",
    "No groups yet.": "Ingen grupper ennå.",
    "New group": "Ny gruppe",
    "class": "klasse",
    "year group": "trinn",
    "cart": "vogn",
    "other": "annet",
    "Create group": "Opprett gruppe",
    "Code": "Kode",
    "No schools yet.": "Ingen skoler ennå.",
    "Add a school": "Legg til en skole",
    "Add school": "Legg til skole",
    "Sign in": "Logg inn",
    "Sign in to Flokk": "Logg inn i Flokk",
    "You are signed out.": "Du er logget ut.",
    "Sign in with %(provider)s": "Logg inn med %(provider)s",
    "Choose a new password": "Velg et nytt passord",
    "You signed in with a one-time password. Choose your own password before you go on.":
        "Du logget inn med et engangspassord. Velg ditt eget passord før du går videre.",
    "Current password": "Nåværende passord",
    "New password (at least 12 characters)": "Nytt passord (minst 12 tegn)",
    "New password again": "Nytt passord en gang til",
    "Save password": "Lagre passordet",
    "All devices of the school": "Alle enhetene på skolen",
    "(no label)": "(uten merkelapp)",
    "Manage enrollment links": "Administrer innrulleringslenker",
    "Done": "Ferdig",
    "The single sign-on rule is added.": "Regelen for felles innlogging er lagt til.",
    "The single sign-on rule is removed.": "Regelen for felles innlogging er fjernet.",
    "Single sign-on rules": "Regler for felles innlogging",
    "At every sign-in with Feide or Entra ID, a person gets the roles of the rules whose value is in their claim, and loses the others.":
        "Ved hver innlogging med Feide eller Entra ID får personen rollene fra reglene med en verdi personen har, og mister de andre.",
    "Provider": "Tjeneste",
    "Claim value": "Verdi",
    "No rules.": "Ingen regler.",
    "Add rule": "Legg til regel",
    "Send to the group": "Send til gruppen",
    "Remove from Flokk": "Fjern fra Flokk",
    "The device can no longer reach Flokk once a central admin approves: its certificate is revoked and its waiting commands are cancelled.":
        "Enheten kommer ikke lenger i kontakt med Flokk når en sentral administrator har godkjent: sertifikatet trekkes tilbake og ventende kommandoer avbrytes.",
    "Ask to remove": "Be om fjerning",
    "A command to more than %(threshold)s devices at once, and any erase, needs a reason and a central admin's approval.":
        "En kommando til flere enn %(threshold)s enheter samtidig, og all sletting, krever en begrunnelse og godkjenning fra en sentral administrator.",
    # The device page: commands in words, what the inventory says.
    "Refresh device information": "Oppdater enhetsinformasjonen",
    "Check passcode and encryption": "Sjekk kode og kryptering",
    "Refresh installed profiles": "Oppdater listen over profiler",
    "Refresh installed apps": "Oppdater listen over apper",
    "Lock the screen": "Lås skjermen",
    "Turn on Lost Mode": "Slå på modus for mistet enhet",
    "Turn off Lost Mode": "Slå av modus for mistet enhet",
    "Restart": "Start på nytt",
    "Shut down": "Slå av",
    "Remove the passcode (needs approval)": "Fjern koden (må godkjennes)",
    "Erase all content (needs approval)": "Slett alt innhold (må godkjennes)",
    "Storage": "Lagring",
    "%(free)s of %(total)s GB free": "%(free)s av %(total)s GB ledig",
    "Battery": "Batteri",
    "Passcode": "Kode",
    "set": "satt",
    "not set": "ikke satt",
    "does not meet the policy": "oppfyller ikke reglene",
    "Push": "Varsling",
    "Apple refused the push token: the device must check in again":
        "Apple avviste varslingsnøkkelen: enheten må koble seg til på nytt",
    "Message on the screen": "Melding på skjermen",
    "Phone number": "Telefonnummer",
    "The message and phone number are shown by Lock the screen and Lost Mode (Lost Mode needs one of them and a supervised device).":
        "Meldingen og telefonnummeret vises av Lås skjermen og modus for mistet enhet (som trenger ett av dem og en "
        "overvåket enhet).",
    "Installed profiles": "Installerte profiler",
    "Identifier": "Identifikator",
    "Installed by": "Installert av",
    "Flokk or another MDM": "Flokk eller en annen MDM",
    "the user, by hand": "brukeren, for hånd",
    "Not reported yet.": "Ikke rapportert ennå.",
    "Installed apps": "Installerte apper",
    "Show the apps": "Vis appene",
    "Version": "Versjon",
    "Install a profile": "Installer en profil",
    "Remove a profile": "Fjern en profil",
    "waiting": "venter",
    "sent": "sendt",
    "done": "utført",
    "failed": "feilet",
    "device busy, will retry": "enheten var opptatt, prøver igjen",
    "expired": "utløpt",
    "cancelled": "avbrutt",
    "enrolling": "rulles inn",
    "enrolled": "innrullert",
    "not enrolled": "ikke innrullert",
    # Policy
    "Nothing changed: the layer already says so.": "Ingenting ble endret: laget sier dette allerede.",
    "Saved as version %(number)s; %(count)s device(s) get the change.":
        "Lagret som versjon %(number)s; %(count)s enhet(er) får endringen.",
    "Policy of %(school)s": "Regelverk for %(school)s",
    "Baseline policy": "Grunnregelverk",
    "Policy": "Regelverk",
    "Settings of the school: what the baseline says, and what the school changes where central IT has not locked it.":
        "Skolens innstillinger: det grunnregelverket sier, og det skolen endrer der sentral IT ikke har låst det.",
    "Back to the school": "Tilbake til skolen",
    "The organisation's baseline: every school gets it. A locked setting cannot be changed by any school.":
        "Organisasjonens grunnregelverk: alle skoler får det. En låst innstilling kan ingen skole endre.",
    "Schools:": "Skoler:",
    "Version %(number)s": "Versjon %(number)s",
    "last changed by %(who)s": "sist endret av %(who)s",
    "Preview (nothing saved)": "Forhåndsvisning (ingenting er lagret)",
    "Nothing would change: the layer already says so.": "Ingenting ville blitt endret: laget sier dette allerede.",
    "%(devices)s device(s): %(current)s up to date.": "%(devices)s enhet(er): %(current)s er oppdatert.",
    "Profile": "Profil",
    "install": "installere",
    "remove": "fjerne",
    "No device needs a new profile.": "Ingen enhet trenger en ny profil.",
    "Left out in %(school)s on %(count)s device(s):": "Utelatt i %(school)s på %(count)s enhet(er):",
    "Settings": "Innstillinger",
    "Payload": "Nyttelast",
    "Key": "Nøkkel",
    "Value": "Verdi",
    "Set in": "Satt i",
    "Set by": "Satt av",
    "Lock": "Lås",
    "this layer": "dette laget",
    "(whole payload)": "(hele nyttelasten)",
    "Locked in %(layer)s by %(who)s": "Låst i %(layer)s av %(who)s",
    "No settings yet.": "Ingen innstillinger ennå.",
    "Change a setting": "Endre en innstilling",
    "Payloads by name (passcode, restrictions, wifi:NAME ...), keys as in Apple's schema. Values: true/false, numbers, text, JSON for lists. Preview first to see which devices get which profile.":
        "Nyttelast ved navn (passcode, restrictions, wifi:NAVN ...), nøkler som i Apples skjema. Verdier: true/false, tall, tekst, JSON for lister. Forhåndsvis først for å se hvilke enheter som får hvilken profil.",
    "Change": "Endring",
    "set the value": "sett verdien",
    "unset (inherit again)": "fjern (arv igjen)",
    "Lock: no school may change it": "Lås: ingen skole kan endre den",
    "Preview": "Forhåndsvis",
    "Save": "Lagre",
    "Policy of the school": "Skolens regelverk",
    # Policy of groups, history, a device's effective policy
    "Policy of %(group)s (%(school)s)": "Regelverk for %(group)s (%(school)s)",
    "Settings of the group: what the baseline and the school say, and what the group changes where they have not locked it. A device in the group gets these unless its own settings change them.":
        "Gruppens innstillinger: det grunnregelverket og skolen sier, og det gruppen endrer der de ikke har låst det. En enhet i gruppen får disse med mindre dens egne innstillinger endrer dem.",
    "Back to the groups": "Tilbake til gruppene",
    "Groups:": "Grupper:",
    "Layers:": "Lag:",
    "Note": "Merknad",
    "History": "Historikk",
    "What changed": "Hva som ble endret",
    "Restored version %(number)s": "Gjenopprettet versjon %(number)s",
    "current": "gjeldende",
    "Restore": "Gjenopprett",
    "Not changed yet.": "Ikke endret ennå.",
    "%(count)s older version(s) not shown.": "%(count)s eldre versjon(er) vises ikke.",
    "Restoring saves the old settings as a new version, checked against today's locks like any change.":
        "Gjenoppretting lagrer de gamle innstillingene som en ny versjon, kontrollert mot dagens låser som enhver endring.",
    "Version %(old)s restored as version %(number)s; %(count)s device(s) get the change.":
        "Versjon %(old)s er gjenopprettet som versjon %(number)s; %(count)s enhet(er) får endringen.",
    "Effective policy: every setting the device gets and where it comes from":
        "Gjeldende regelverk: hver innstilling enheten får, og hvor den kommer fra",
    "Effective policy": "Gjeldende regelverk",
    "Effective policy of %(device)s": "Gjeldende regelverk for %(device)s",
    "What the device gets: every setting with the layer it came from. Change a setting on the page of that layer.":
        "Det enheten får: hver innstilling med laget den kom fra. Endre en innstilling på siden til det laget.",
    "Back to the device": "Tilbake til enheten",
    "Policy of the group": "Gruppens regelverk",
    "Overrides": "Overstyrer",
    "Left out": "Utelatt",
    "Profiles": "Profiler",
    "No profiles.": "Ingen profiler.",
    "installed": "installert",
    "to install": "skal installeres",
    "queued": "i kø",
    "sent, not yet reported back": "sendt, ikke rapportert tilbake ennå",
    "applied per organisational unit": "brukt per organisasjonsenhet",
    "to remove": "skal fjernes",
    "outside the policy (left alone)": "utenfor regelverket (røres ikke)",
    "blocked": "blokkert",
    "waiting for approval": "venter på godkjenning",
    "approved": "godkjent",
    "rejected": "avvist",
    # The front page, for central IT.
    "Certificates": "Sertifikater",
    "Apple push certificate": "Apples varslingssertifikat",
    "Not imported: iPads cannot enrol or be woken. Run flokk apns import.":
        "Ikke importert: iPader kan verken rulles inn eller vekkes. Kjør flokk apns import.",
    "valid until %(date)s": "gyldig til %(date)s",
    "Expired: no iPad can be woken. Renew it at identity.apple.com with the same Apple ID.":
        "Utløpt: ingen iPad kan vekkes. Forny det på identity.apple.com med den samme Apple-ID-en.",
    "Renew it soon at identity.apple.com with the same Apple ID, then run flokk apns import.":
        "Forny det snart på identity.apple.com med den samme Apple-ID-en, og kjør så flokk apns import.",
    "Certificate authority": "Sertifikatutsteder (CA)",
    "None yet: run flokk init.": "Ingen ennå: kjør flokk init.",
    "Users of this shared iPad": "Brukere av denne delte iPaden",
    "User": "Bruker",
    # The starter pack a new school's ICT contact gets.
    "Starter pack for the ICT contact": "Startpakke for IKT-kontakten",
    "Starter pack for %(school)s": "Startpakke for %(school)s",
    "Print this page or save it as PDF from the browser: the menus are left out of the print.":
        "Skriv ut denne siden eller lagre den som PDF fra nettleseren: menyene blir ikke med på utskriften.",
    "Welcome to Flokk, %(school)s": "Velkommen til Flokk, %(school)s",
    "Flokk is where your school's iPads are managed. Central IT keeps security and the shared settings in order; you, as the school's ICT contact, look after your own school's iPads: which class they belong to, new iPads, and help when one is lost. You do not need to know how the technology behind it works. This pack tells you what you need for the first weeks.":
        "Flokk er stedet der skolens iPader styres. Sentral IT holder orden på sikkerheten og de felles "
        "innstillingene; du, som skolens IKT-kontakt, tar deg av skolens egne iPader: hvilken klasse de hører "
        "til, nye iPader og hjelp når en er borte. Du trenger ikke kunne teknikken bak. Denne pakken forteller "
        "det du trenger de første ukene.",
    "Open %(url)s in a browser.": "Åpne %(url)s i en nettleser.",
    "Sign in with %(providers)s, the same login as for your other school services.":
        "Logg inn med %(providers)s, den samme innloggingen som til skolens andre tjenester.",
    " or ": " eller ",
    "Central IT can also give you a one-time password for your e-mail address; you choose your own password at the first sign-in.":
        "Sentral IT kan også gi deg et engangspassord for e-postadressen din; du velger ditt eget passord "
        "første gang du logger inn.",
    "What you can do": "Dette kan du gjøre",
    "See your school's iPads: model, iPadOS version, battery, storage, installed apps and profiles.":
        "Se skolens iPader: modell, iPadOS-versjon, batteri, lagring, installerte apper og profiler.",
    "Create classes, year groups and carts, and move iPads into them.":
        "Opprette klasser, trinn og vogner, og flytte iPader inn i dem.",
    "Send everyday commands: lock the screen with a message, turn on Lost Mode, restart, refresh the information.":
        "Sende vanlige kommandoer: låse skjermen med en melding, slå på modus for mistet enhet, starte på nytt, "
        "oppdatere informasjonen.",
    "Change your school's and classes' settings (Wi-Fi, passcode length, web clips ...) where central IT has not locked them.":
        "Endre innstillingene for skolen og klassene (trådløst nett, kodelengde, snarveier ...) der sentral IT "
        "ikke har låst dem.",
    "Ask for an erase, or for an iPad to be removed from Flokk: a central admin approves it first (a request waits for %(hours)s hours). So does a command to more than %(count)s iPads at once.":
        "Be om sletting, eller om at en iPad fjernes fra Flokk: en sentral administrator godkjenner det først "
        "(en forespørsel venter i %(hours)s timer). Det samme gjelder en kommando til flere enn %(count)s "
        "iPader samtidig.",
    "You only see your own school. Everything you do is written to the audit log with your name.":
        "Du ser bare din egen skole. Alt du gjør skrives i revisjonsloggen med navnet ditt.",
    "Enrol an iPad": "Rull inn en iPad",
    "In Flokk, open Enrollment and create an enrollment link for %(school)s (give it a label, for example the cart it is for, and an expiry).":
        "Åpne Innrullering i Flokk og lag en innrulleringslenke for %(school)s (gi den et navn, for eksempel "
        "vognen den er til, og en utløpstid).",
    "On the iPad, open the link in Safari and allow the download.":
        "Åpne lenken i Safari på iPaden og tillat nedlastingen.",
    "Open Settings → Profile Downloaded and install the profile. The iPad joins %(school)s and gets its settings by itself within a few minutes.":
        "Åpne Innstillinger → Profil lastet ned og installer profilen. iPaden blir en del av %(school)s og får "
        "innstillingene sine av seg selv i løpet av noen minutter.",
    "Move the iPad into its class on its page in Flokk; the class's settings follow.":
        "Flytt iPaden til klassen sin på iPadens side i Flokk; klassens innstillinger følger med.",
    "Treat an enrollment link like a key: anyone who has it can enrol an iPad into your school until it expires or you revoke it.":
        "Behandle en innrulleringslenke som en nøkkel: alle som har den, kan rulle inn en iPad på skolen din "
        "til den utløper eller du trekker den tilbake.",
    "What central IT has locked": "Dette har sentral IT låst",
    "These settings are the same at every school; you will see them, but cannot change them. Ask central IT if one of them stands in your way.":
        "Disse innstillingene er like på alle skoler; du ser dem, men kan ikke endre dem. Spør sentral IT hvis "
        "en av dem står i veien for deg.",
    "Nothing is locked yet: every shared setting can be adjusted for your school.":
        "Ingenting er låst ennå: alle felles innstillinger kan tilpasses for skolen din.",
    "When an iPad is lost": "Når en iPad er borte",
    "Lock it with a message and a phone number on the screen, or turn on Lost Mode (supervised iPads). If it is not found, ask for an erase with a short reason; central IT approves it and Flokk sends it the next time the iPad is online.":
        "Lås den med en melding og et telefonnummer på skjermen, eller slå på modus for mistet enhet "
        "(overvåkede iPader). Blir den ikke funnet, be om sletting med en kort begrunnelse; sentral IT "
        "godkjenner, og Flokk sender slettingen neste gang iPaden er på nett.",
    # Apps (Apps and Books, app lists as policy)
    "Choose the .vpptoken file downloaded from Apple School Manager.":
        "Velg .vpptoken-filen du lastet ned fra Apple School Manager.",
    "The Apps and Books token for %(location)s is imported; the apps are read within a minute.":
        "Apps and Books-nøkkelen for %(location)s er importert; appene leses inn i løpet av et minutt.",
    "Flokk reads the apps and licences from Apple within a minute.":
        "Flokk leser appene og lisensene fra Apple i løpet av et minutt.",
    "Apps of %(school)s": "Apper for %(school)s",
    "Apps of %(group)s (%(school)s)": "Apper for %(group)s (%(school)s)",
    "Saved as version %(number)s; %(count)s command(s) queued, %(licences)s licence(s) to assign.":
        "Lagret som versjon %(number)s; %(count)s kommando(er) lagt i kø, %(licences)s lisens(er) skal tildeles.",
    "Install an app": "Installer en app",
    "Remove an app": "Fjern en app",
    "Refresh managed apps": "Oppdater administrerte apper",
    "App": "App",
    "assign a licence": "tildel en lisens",
    "No device needs anything new.": "Ingen enhet trenger noe nytt.",
    "Waits in %(school)s on %(count)s device(s):": "Venter i %(school)s på %(count)s enhet(er):",
    "Change an app": "Endre en app",
    "Required: installed on every device here and kept. Available: allowed, not installed. Removed: removed where it is installed. Inherit: follow the layers above. Preview first to see how many licences and devices it takes.":
        "Påkrevd: installeres på hver enhet her og blir værende. Tilgjengelig: tillatt, ikke installert. Fjernet: fjernes der den er installert. Arv: følg lagene over. Forhåndsvis først for å se hvor mange lisenser og enheter det gjelder.",
    "required": "påkrevd",
    "available": "tilgjengelig",
    "removed": "fjernet",
    "inherit": "arv",
    "Configuration (JSON, optional)": "Konfigurasjon (JSON, valgfritt)",
    "Keep the app when the device leaves management": "Behold appen når enheten forlater administrasjonen",
    "No app to choose yet: central IT makes apps available in the baseline.":
        "Ingen apper å velge ennå: sentral IT gjør apper tilgjengelige i grunnoppsettet.",
    "Apps": "Apper",
    "The apps the organisation owns in Apps and Books, with their licences. Central IT makes apps available (schools and classes then pick them) or required everywhere; a lock stops schools from changing that.":
        "Appene organisasjonen eier i Apps and Books, med lisensene sine. Sentral IT gjør apper tilgjengelige (skoler og klasser velger dem da) eller påkrevd overalt; en lås hindrer skolene i å endre det.",
    "Apps and Books": "Apps and Books",
    "Location": "Lokasjon",
    "Valid until": "Gyldig til",
    "expired: import a new token": "utløpt: importer en ny nøkkel",
    "expires soon: download a new token in Apple School Manager and import it":
        "utløper snart: last ned en ny nøkkel i Apple School Manager og importer den",
    "Notifications": "Varsler",
    "on": "på",
    "off: Flokk asks Apple instead": "av: Flokk spør Apple i stedet",
    "Taken over": "Overtatt",
    "Another MDM (%(mdm)s) manages the location: import the token again and take it back.":
        "En annen MDM (%(mdm)s) administrerer lokasjonen: importer nøkkelen på nytt og ta den tilbake.",
    "Last error": "Siste feil",
    "Content token (.vpptoken)": "Innholdsnøkkel (.vpptoken)",
    "Take the location over from another MDM": "Overta lokasjonen fra en annen MDM",
    "Licences": "Lisenser",
    "Assigned": "Tildelt",
    "Free": "Ledige",
    "Per school": "Per skole",
    "Baseline": "Grunnoppsett",
    "No apps yet: central IT imports the Apps and Books token, then Flokk reads the apps.":
        "Ingen apper ennå: sentral IT importerer Apps and Books-nøkkelen, så leser Flokk inn appene.",
    "History and restore of the baseline (apps included)": "Historikk og gjenoppretting av grunnoppsettet (også apper)",
    "Apps from the policy": "Apper fra policyen",
    "Licence": "Lisens",
    "Reported by the device": "Rapportert av enheten",
    "What happens": "Hva som skjer",
    "not reported": "ikke rapportert",
    "Apps and Books token": "Apps and Books-nøkkel",
    "Expired: apps get no licences. Download a new token in Apple School Manager.":
        "Utløpt: apper får ingen lisenser. Last ned en ny nøkkel i Apple School Manager.",
    "Download a new token in Apple School Manager soon and import it under Apps.":
        "Last ned en ny nøkkel i Apple School Manager snart og importer den under Apper.",
    "Another MDM (%(mdm)s) manages the location.": "En annen MDM (%(mdm)s) administrerer lokasjonen.",
    "The apps the devices here get: what central IT requires, what the school adds, what the class adds. History and restore are on the policy page.":
        "Appene enhetene her får: det sentral IT krever, det skolen legger til, det klassen legger til. Historikk og gjenoppretting finner du på policysiden.",
    "Policy and history": "Policy og historikk",
    "Licences here / free": "Lisenser her / ledige",
    "configured": "konfigurert",
    "locked by %(who)s": "låst av %(who)s",
    "No apps here yet.": "Ingen apper her ennå.",
    "Apps of the school": "Skolens apper",
    # Classes from teaching groups, the teacher role, Apple Classroom
    "Choose the export file (CSV) to import.": "Velg eksportfilen (CSV) som skal importeres.",
    "No file.": "Ingen fil.",
    "Imported: %(summary)s.": "Importert: %(summary)s.",
    "Imported from Feide: %(summary)s.": "Importert fra Feide: %(summary)s.",
    "The school's Feide organisation unit is saved.": "Skolens organisasjonsenhet i Feide er lagret.",
    "Classroom is queued for the teacher's iPad and %(count)s iPad(s) of the class.":
        "Klasserom er lagt i kø for lærerens iPad og %(count)s iPad(er) i klassen.",
    "teacher of the class": "lærer i klassen",
    "At every sign-in with Feide or Entra ID, a person gets the roles of the rules that match their groups now (Feide: read from its Groups API), and loses the others. A value is a group id, an app role, or type:KIND for every group of a kind (type:fc:gogroup:u: Feide teaching groups); an affiliation (employee, faculty, student) narrows it. A teacher rule gives the teacher role in the class Flokk made from each matching group.":
        "Ved hver innlogging med Feide eller Entra ID får en person rollene fra reglene som passer med gruppene personen er med i nå (Feide: lest fra gruppe-API-et), og mister de andre. En verdi er en gruppe-ID, en app-rolle eller type:TYPE for alle grupper av en type (type:fc:gogroup:u: undervisningsgrupper i Feide); en tilknytning (employee, faculty, student) snevrer den inn. En lærerregel gir lærerrollen i klassen Flokk laget av hver gruppe som passer.",
    "Affiliation": "Tilknytning",
    "Devices of the class": "Klassens enheter",
    "Teachers": "Lærere",
    "None": "Ingen",
    "Pupils": "Elever",
    "Apple Classroom": "Apple Klasserom",
    "The teacher's iPad leads the class in Apple's Classroom app; the class's iPads (%(count)s) are its members. Each iPad gets its own certificate from Flokk.":
        "Lærerens iPad leder klassen i Apples Klasserom-app; klassens iPader (%(count)s) er medlemmene. Hver iPad får sitt eget sertifikat fra Flokk.",
    "Teacher's iPad (device id)": "Lærerens iPad (enhets-ID)",
    "Teacher": "Lærer",
    "Set up Classroom": "Sett opp Klasserom",
    "Classes": "Klasser",
    "Classes are made from the school's teaching groups: the export of the school's administrative system, or the teaching groups Feide shows you. Teachers of a class can sign in with Feide and see its iPads.":
        "Klassene lages fra skolens undervisningsgrupper: eksporten fra skolens skoleadministrative system, eller undervisningsgruppene Feide viser deg. Lærerne i en klasse kan logge inn med Feide og se klassens iPader.",
    "Feide organisation unit": "Organisasjonsenhet i Feide",
    "not linked": "ikke koblet",
    "Last import": "Siste import",
    "Class": "Klasse",
    "Teaching group": "Undervisningsgruppe",
    "No classes yet.": "Ingen klasser ennå.",
    "Import the export of the administrative system": "Importer eksporten fra det skoleadministrative systemet",
    "A CSV file with the columns group_id, group_name, feide_id, member_name and role (teacher or student), one line per member. All or nothing: a file with a problem imports nothing and names the line.":
        "En CSV-fil med kolonnene group_id, group_name, feide_id, member_name og role (teacher eller student), én linje per medlem. Alt eller ingenting: en fil med en feil importerer ingenting og sier hvilken linje feilen er på.",
    "Export file": "Eksportfil",
    "Import": "Importer",
    "Import from Feide": "Importer fra Feide",
    "Import the teaching groups Feide shows me": "Importer undervisningsgruppene Feide viser meg",
    "Sign in with Feide to import the teaching groups Feide shows you.":
        "Logg inn med Feide for å importere undervisningsgruppene Feide viser deg.",
    "Feide organisation unit of the school": "Skolens organisasjonsenhet i Feide",
    "Organisation unit": "Organisasjonsenhet",
    "Your classes": "Dine klasser",
    # Apple School Manager
    "%(count)s device(s)": "%(count)s enhet(er)",
    "%(count)s device(s) assigned; Apple gets their school's profile within a minute.": "%(count)s enhet(er) tildelt; Apple får skolens profil for dem innen et minutt.",
    "%(total)s: %(expected)s expected, %(unassigned)s without a school, %(enrolled)s enrolled, %(deleted)s released": "%(total)s: %(expected)s ventet, %(unassigned)s uten skole, %(enrolled)s innrullert, %(deleted)s frigitt",
    "(known after the first sync)": "(kjent etter første synkronisering)",
    "Activation Lock": "Aktiveringslås",
    "Activation Lock bypass code": "Kode for å omgå aktiveringslåsen",
    "Add or renew a server token": "Legg til eller forny et servertoken",
    "All my schools": "Alle mine skoler",
    "Apple School Manager": "Apple School Manager",
    "Apple School Manager token": "Token for Apple School Manager",
    "Apple did not answer; Flokk tries again": "Apple svarte ikke; Flokk prøver igjen",
    "Apple refuses the token: import a new one": "Apple avviser tokenet: importer et nytt",
    "Apple's new terms must be accepted in Apple School Manager": "Apples nye vilkår må godtas i Apple School Manager",
    "Assign": "Tildel",
    "Assign by hand": "Tildel for hånd",
    "Choose the server token file (.p7m) downloaded from Apple School Manager.": "Velg servertoken-filen (.p7m) du lastet ned fra Apple School Manager.",
    "Class (name)": "Klasse (navn)",
    "Colour": "Farge",
    "Department": "Avdeling",
    "Devices without a school": "Enheter uten skole",
    "Download Flokk's public key": "Last ned Flokks offentlige nøkkel",
    "Download the server token (.p7m) there and import it here:": "Last ned servertokenet (.p7m) der og importer det her:",
    "Expected iPads": "Ventede iPader",
    "Expired: download a new token in Apple School Manager and import it.": "Utløpt: last ned et nytt token i Apple School Manager og importer det.",
    "Field": "Felt",
    "Flokk syncs this token within a minute.": "Flokk synkroniserer dette tokenet innen et minutt.",
    "Give serial numbers and a school, or a CSV file.": "Oppgi serienumre og en skole, eller en CSV-fil.",
    "Language": "Språk",
    "Last sync": "Sist synkronisert",
    "No class": "Ingen klasse",
    "No rules yet.": "Ingen regler ennå.",
    "No server token yet.": "Ingen servertoken ennå.",
    "Order": "Rekkefølge",
    "Organisation": "Organisasjon",
    "Pattern": "Mønster",
    "Profile at Apple": "Profil hos Apple",
    "Region": "Region",
    "Renew it soon: download a new token in Apple School Manager and import it.": "Forny det snart: last ned et nytt token i Apple School Manager og importer det.",
    "Rule added: %(count)s device(s) without a school are now expected at %(school)s.": "Regelen er lagt til: %(count)s enhet(er) uten skole ventes nå på %(school)s.",
    "Rule removed; the devices it assigned keep their school.": "Regelen er fjernet; enhetene den tildelte beholder skolen sin.",
    "Rules give devices without a school their school (and class) at each sync; the first matching rule wins. Devices assigned by hand or by CSV keep their school.": "Regler gir enheter uten skole sin skole (og klasse) ved hver synkronisering; den første regelen som passer, gjelder. Enheter tildelt for hånd eller med CSV beholder skolen sin.",
    "Saved: %(serial)s.": "Lagret: %(serial)s.",
    "Saved: every school's profile is defined again at Apple at the next sync.": "Lagret: profilen til hver skole defineres på nytt hos Apple ved neste synkronisering.",
    "Saved: new iPads of the school show this in Setup Assistant after the next sync.": "Lagret: nye iPader på skolen viser dette i oppsettassistenten etter neste synkronisering.",
    "Serial numbers": "Serienumre",
    "Server": "Server",
    "Server token (.p7m)": "Servertoken (.p7m)",
    "Server tokens": "Servertokener",
    "Server tokens and rules": "Servertokener og regler",
    "Setup Assistant panes to skip": "Skjermbilder i oppsettassistenten som hoppes over",
    "Show the bypass code": "Vis koden",
    "Support email": "E-post for brukerstøtte",
    "Support phone": "Telefon for brukerstøtte",
    "Sync now": "Synkroniser nå",
    "The CSV file is too large.": "CSV-filen er for stor.",
    "The server token is imported; Flokk syncs it within a minute.": "Servertokenet er importert; Flokk synkroniserer det innen et minutt.",
    "The server token is renewed.": "Servertokenet er fornyet.",
    "Use it to clear Activation Lock on %(serial)s after an erase. Showing it is recorded in the audit log.": "Bruk den til å fjerne aktiveringslåsen på %(serial)s etter sletting. At koden ble vist, står i revisjonsloggen.",
    "What Setup Assistant shows pupils of %(school)s": "Hva oppsettassistenten viser elevene på %(school)s",
    "What every school's profile shares": "Det alle skolenes profiler har felles",
    "Which school expects new devices": "Hvilken skole som venter nye enheter",
    "all": "alle",
    "and upload it to the device management server in Apple School Manager (Preferences → Your MDM Servers).": "og last den opp til enhetsadministrasjonsserveren i Apple School Manager (Innstillinger → Dine MDM-servere).",
    "enrolled by Apple School Manager (ADE)": "innrullert av Apple School Manager (ADE)",
    "expected": "ventet",
    "iPads Apple School Manager assigned to Flokk, expected at a school. When one is unboxed and joins Wi-Fi it enrols itself, supervised, with the class chosen here.": "iPader som Apple School Manager har tildelt Flokk, og som ventes på en skole. Når en pakkes ut og kobles til Wi-Fi, ruller den seg inn selv, overvåket, i klassen som er valgt her.",
    "iPads bought through Apple School Manager enrol themselves in Setup Assistant: supervised, with a profile the pupil cannot remove, in the school that expects them.": "iPader kjøpt gjennom Apple School Manager ruller seg inn selv i oppsettassistenten: overvåket, med en profil eleven ikke kan fjerne, på skolen som venter dem.",
    "iPads trust Flokk's CA for Flokk's address (turn off when its TLS certificate comes from a public CA)": "iPadene stoler på Flokks sertifiseringsinstans for Flokks adresse (slå av når TLS-sertifikatet kommer fra en offentlig instans)",
    "in order": "i orden",
    "no school yet": "ingen skole ennå",
    "not synced yet": "ikke synkronisert ennå",
    "or a CSV file: serial,school,class": "eller en CSV-fil: serienummer,skole,klasse",
    "released in Apple School Manager": "frigitt i Apple School Manager",
    "waiting in Setup Assistant": "venter i oppsettassistenten",
    "Webhook %(name)s created": "Webhooken %(name)s er opprettet",
    "The signing secret (shown only now): the receiver checks each delivery's webhook-signature with it (Standard Webhooks).":
        "Signeringshemmeligheten (vises bare nå): mottakeren sjekker hver leveranses webhook-signature med den (Standard Webhooks).",
    "The webhook is deleted.": "Webhooken er slettet.",
    "Webhooks": "Webhooks",
    "Webhook": "Webhook",
    "Last delivery": "Siste leveranse",
    "Latest deliveries": "Siste leveranser",
    "Event": "Hendelse",
    "Attempts": "Forsøk",
    "Answer": "Svar",
    "Last attempt": "Siste forsøk",
    "Next attempt": "Neste forsøk",
    "No deliveries yet.": "Ingen leveranser ennå.",
    "All webhooks": "Alle webhooks",
    "Flokk tells these addresses of events as they happen, signed with each webhook's secret, and tries again with growing pauses for about a day while a receiver fails.":
        "Flokk varsler disse adressene om hendelser idet de skjer, signert med hver webhooks hemmelighet, og prøver igjen med stadig lengre pauser i omtrent et døgn mens en mottaker feiler.",
    "Address": "Adresse",
    "Events": "Hendelser",
    "Waiting": "Venter",
    "Failed": "Feilet",
    "No webhooks.": "Ingen webhooks.",
    "New webhook": "Ny webhook",
    "Address (https://)": "Adresse (https://)",
    "Create webhook": "Opprett webhook",
    "The key file is not a JSON text file.":
        "Nøkkelfilen er ikke en JSON-tekstfil.",
    "Connected %(domain)s. Map each school to its organisational unit next.":
        "%(domain)s er koblet til. Knytt så hver skole til sin organisasjonsenhet.",
    "%(school)s is mapped to %(path)s.":
        "%(school)s er knyttet til %(path)s.",
    "A sync is requested: the scheduler runs it within a few minutes.":
        "Synkronisering er bestilt: planleggeren kjører den i løpet av noen minutter.",
    "Chrome policy sent, but Google refused it for %(units)s: see the table.":
        "Chrome-policyen er sendt, men Google avviste den for %(units)s: se tabellen.",
    "Chrome policy sent: %(count)s change(s).":
        "Chrome-policyen er sendt: %(count)s endring(er).",
    "The Chromebook is moved, in Google too.":
        "Chromebooken er flyttet, også i Google.",
    "Set the volume":
        "Still inn volumet",
    "Take a screenshot (kiosk only)":
        "Ta skjermbilde (bare kiosk)",
    "Disable (lost or stolen)":
        "Deaktiver (mistet eller stjålet)",
    "Enable again":
        "Aktiver igjen",
    "Remove all users (needs approval)":
        "Fjern alle brukere (må godkjennes)",
    "Powerwash: reset to factory state (needs approval)":
        "Powerwash: tilbakestill til fabrikkstand (må godkjennes)",
    "Deprovision (needs approval)":
        "Avregistrer (må godkjennes)",
    "retired":
        "tatt ut av bruk",
    "replaced by the same model":
        "erstattet av samme modell",
    "replaced by another model":
        "erstattet av en annen modell",
    "sent for repair":
        "sendt til reparasjon",
    "licence moved to another device":
        "lisensen flyttet til en annen enhet",
    "no longer needs management":
        "trenger ikke lenger administrasjon",
    "Chromebook in Google":
        "Chromebook i Google",
    "Organisational unit":
        "Organisasjonsenhet",
    "Status in Google":
        "Status i Google",
    "Updates until":
        "Oppdateringer til",
    "unknown":
        "ukjent",
    "Last sync with Google":
        "Siste synkronisering med Google",
    "Asset id":
        "Inventarnummer",
    "Annotated location":
        "Registrert plassering",
    "User (noted)":
        "Bruker (notert)",
    "Recent users":
        "Siste brukere",
    "Chrome policy":
        "Chrome-policy",
    "applied to %(path)s":
        "brukt på %(path)s",
    "not yet":
        "ikke ennå",
    "Changed in Google's Admin console (drift):":
        "Endret i Googles administrasjonskonsoll (avvik):",
    "set at %(path)s":
        "satt på %(path)s",
    "Not applicable to Chromebooks":
        "Gjelder ikke Chromebook",
    "These settings of the policy have no Chrome equivalent; the iPads get them, this Chromebook does not.":
        "Disse innstillingene i policyen har ingen Chrome-motpart; iPadene får dem, denne Chromebooken gjør det ikke.",
    "Give to another school":
        "Gi til en annen skole",
    "Chromebooks":
        "Chromebooker",
    "Google sends it to the Chromebook. Powerwash, removing users and deprovisioning need a reason and a central admin's approval before they are sent.":
        "Google sender den til Chromebooken. Powerwash, fjerning av brukere og avregistrering krever en begrunnelse og godkjenning fra en sentral administrator før de sendes.",
    "Volume":
        "Volum",
    "Why deprovision":
        "Hvorfor avregistrere",
    "Chromebooks: Google":
        "Chromebooker: Google",
    "Domain":
        "Domene",
    "customer":
        "kunde",
    "Acting as":
        "Handler som",
    "key":
        "nøkkel",
    "Connected":
        "Tilkoblet",
    "kept":
        "lagres",
    "not kept":
        "lagres ikke",
    "full":
        "full",
    "In progress":
        "Pågår",
    "%(pages)s pages read; it resumes at the next run":
        "%(pages)s sider lest; den fortsetter ved neste kjøring",
    "%(count)s in Google":
        "%(count)s i Google",
    "%(count)s gone from Google":
        "%(count)s borte fra Google",
    "Full sync (also marks Chromebooks gone from Google)":
        "Full synkronisering (merker også Chromebooker som er borte fra Google)",
    "Organisational units":
        "Organisasjonsenheter",
    "Central IT's locked settings are applied at the parent unit; each school's unit follows it and adds the school's own settings. Drift is a value changed in Google's Admin console.":
        "Innstillingene sentral IT har låst, settes på overordnet enhet; hver skoles enhet følger den og legger til skolens egne innstillinger. Avvik er en verdi som er endret i Googles administrasjonskonsoll.",
    "Unit":
        "Enhet",
    "Chrome policy applied":
        "Chrome-policy brukt",
    "Drift":
        "Avvik",
    "parent of the schools":
        "over skolene",
    "Send every value again (puts back drift)":
        "Send alle verdiene på nytt (retter avvik)",
    "Apply Chrome policy now":
        "Bruk Chrome-policyen nå",
    "Map a school or group":
        "Knytt en skole eller gruppe",
    "Group (optional)":
        "Gruppe (valgfritt)",
    "Unit path":
        "Sti til enheten",
    "Create it in Google":
        "Opprett den i Google",
    "Map":
        "Knytt",
    "No Google domain is connected: Chromebooks are not managed yet.":
        "Ingen Google-domene er koblet til: Chromebooker administreres ikke ennå.",
    "Connect a Google Workspace for Education domain":
        "Koble til et Google Workspace for Education-domene",
    "Connect again":
        "Koble til på nytt",
    "Create a service account in Google Cloud (enable the Admin SDK API and the Chrome Policy API), download its JSON key, and in the Admin console (Security → API controls → Domain-wide delegation) give its client id these scopes:":
        "Opprett en tjenestekonto i Google Cloud (slå på Admin SDK API og Chrome Policy API), last ned JSON-nøkkelen, og gi klient-ID-en disse omfangene i administrasjonskonsollen (Sikkerhet → API-kontroller → Delegering på domenenivå):",
    "Key file":
        "Nøkkelfil",
    "or paste it:":
        "eller lim den inn:",
    "Admin to act as":
        "Administrator å handle som",
    "Customer id (optional)":
        "Kunde-ID (valgfritt)",
    "Parent unit of the schools":
        "Overordnet enhet for skolene",
    "Keep recent users (personal data)":
        "Lagre siste brukere (personopplysninger)",
    "Test and connect":
        "Test og koble til",
    # OS updates and declarative management
    "not started": "ikke startet",
    "waiting to start": "venter på å starte",
    "downloading": "laster ned",
    "ready to install": "klar til å installeres",
    "installing": "installerer",
    "not managed declaratively": "ikke styrt deklarativt",
    "iPadOS too old for an update by declaration": "for gammel iPadOS for oppdatering med deklarasjon",
    "iPadOS version not reported yet": "iPadOS-versjonen er ikke rapportert ennå",
    "declarations: the device reports by itself": "deklarasjoner: enheten rapporterer selv",
    "declarative management turned on; waiting for the device to answer":
        "deklarativ styring er slått på; venter på svar fra enheten",
    "profiles and commands": "profiler og kommandoer",
    "profiles and commands (its iPadOS is too old for declarations)":
        "profiler og kommandoer (iPadOS-versjonen er for gammel for deklarasjoner)",
    "applied": "tatt i bruk",
    "not applied": "ikke tatt i bruk",
    "not active": "ikke aktiv",
    "not evaluated yet": "ikke vurdert ennå",
    "not reported yet": "ikke rapportert ennå",
    "an older version reported": "en eldre versjon er rapportert",
    "Saved as version %(number)s; %(count)s device(s) are told to fetch the new target.":
        "Lagret som versjon %(number)s; %(count)s enhet(er) får beskjed om å hente det nye målet.",
    "Declarations": "Deklarasjoner",
    "Settings arrive as": "Innstillingene kommer som",
    "Last status report": "Siste statusrapport",
    "Battery health": "Batteritilstand",
    "Passcode meets the policy": "Koden oppfyller reglene",
    "OS update": "Operativsystemoppdatering",
    "to %(version)s by %(deadline)s": "til %(version)s innen %(deadline)s",
    "Declaration": "Deklarasjon",
    "Type": "Type",
    "Left out:": "Utelatt:",
    "%(done)s of %(total)s done": "%(done)s av %(total)s ferdige",
    "%(done)s done": "%(done)s ferdige",
    "%(pending)s pending": "%(pending)s underveis",
    "%(failed)s failed": "%(failed)s mislyktes",
    "%(count)s cannot get the update by declaration": "%(count)s kan ikke få oppdateringen med deklarasjon",
    "No iPads with a target.": "Ingen iPader med et mål.",
    "%(count)s device(s) managed declaratively would be told to fetch the new target.":
        "%(count)s deklarativt styrte enhet(er) ville fått beskjed om å hente det nye målet.",
    "Deadline": "Frist",
    "Below the target": "Under målet",
    "Cannot get it by declaration": "Kan ikke få den med deklarasjon",
    "Build": "Bygg",
    "Deadline (local time)": "Frist (lokal tid)",
    "set in %(layer)s by %(who)s": "satt i %(layer)s av %(who)s",
    "OS updates": "Operativsystemoppdateringer",
    "Central IT names the iPadOS version every iPad must have and the local date and time by which it is installed. iPads managed declaratively (iPadOS 17 or later) download it and install it themselves, and are forced to at the deadline. A school may set a later deadline unless it is locked. Apple's list of current versions is not reachable from Flokk: type the version and build.":
        "Sentral IT angir hvilken iPadOS-versjon alle iPader skal ha, og lokal dato og tid den må være installert innen. "
        "Deklarativt styrte iPader (iPadOS 17 eller nyere) laster den ned og installerer den selv, og tvinges til det ved fristen. "
        "En skole kan sette en senere frist hvis den ikke er låst. Apples liste over gjeldende versjoner er ikke tilgjengelig "
        "fra Flokk: skriv inn versjon og bygg.",
    "The baseline target": "Målet i grunnoppsettet",
    "Set the target for every school": "Sett målet for alle skoler",
    "Progress": "Framdrift",
    "OS update of %(school)s": "Operativsystemoppdatering for %(school)s",
    "Every school": "Alle skoler",
    "A later deadline for this school": "En senere frist for denne skolen",
    "The version comes from central IT. Give the school more time, for example during exams; the iPads are forced to update at the new deadline.":
        "Versjonen kommer fra sentral IT. Gi skolen mer tid, for eksempel i eksamenstiden; iPadene tvinges til å oppdatere ved den nye fristen.",
    "Central IT locked the deadline (%(layer)s, %(who)s): the school cannot change it.":
        "Sentral IT har låst fristen (%(layer)s, %(who)s): skolen kan ikke endre den.",
    "iPads not on the target yet": "iPader som ikke har nådd målet ennå",
    "iPadOS": "iPadOS",
    "Reported": "Rapportert",
    "Every iPad is on the target.": "Alle iPadene har nådd målet.",
    "The target": "Målet",
    "Target version": "Målversjon",
    # The device list (issue 16)
    "OS version": "OS-versjon",
    "Not seen since": "Ikke sett på",
    "Any time": "Når som helst",
    "%(days)s days or more": "%(days)s dager eller mer",
    "Supervised": "Overvåket",
    "Yes": "Ja",
    "No": "Nei",
    "Clear filters": "Fjern filtrene",
    "Export as CSV": "Eksporter som CSV",
    "Pages": "Sider",
    "Showing %(first)s–%(last)s of %(total)s": "Viser %(first)s–%(last)s av %(total)s",
    "Previous page": "Forrige side",
    # Enrollment links with a QR code (issue 16)
    "revoked": "trukket tilbake",
    "used up": "brukt opp",
    "QR code of the enrollment link": "QR-kode for innrulleringslenken",
    "Point the iPad camera at the code, or open the address below in Safari on the iPad.":
        "Hold kameraet på iPaden mot koden, eller åpne adressen under i Safari på iPaden.",
    "Copied": "Kopiert",
    "Copy the address": "Kopier adressen",
    "Download the QR code (PNG)": "Last ned QR-koden (PNG)",
    "Download the QR code (SVG)": "Last ned QR-koden (SVG)",
    "none: devices land in the school without a class": "ingen: enhetene havner på skolen uten klasse",
    "Used": "Brukt",
    "%(count)s of %(limit)s times": "%(count)s av %(limit)s ganger",
    "%(count)s times (no limit)": "%(count)s ganger (ingen grense)",
    "%(count)s of %(limit)s": "%(count)s av %(limit)s",
    "Show link and QR code": "Vis lenken og QR-koden",
    # The starter pack as a PDF (issue 16)
    "removed at every school": "fjernet på alle skoler",
    "locked as central IT set it": "låst slik sentral IT har satt den",
    "set by central IT": "satt av sentral IT",
    "Your contact at central IT: %(contact)s": "Din kontakt hos sentral IT: %(contact)s",
    "Enrollment link: %(label)s": "Innrulleringslenke: %(label)s",
    "Download as PDF": "Last ned som PDF",
    "Setting": "Innstilling",
    "Flokk name": "Navn i Flokk",
    # Confirmations and approvals with context (issue 16)
    "Remove…": "Fjern …",
    "Remove the right “%(role)s” from %(email)s? It takes effect at once.":
        "Fjerne rettigheten «%(role)s» fra %(email)s? Det gjelder med en gang.",
    "Yes, remove the right": "Ja, fjern rettigheten",
    "Deactivate…": "Deaktiver …",
    "Deactivate %(email)s? They are signed out everywhere at once and can no longer sign in until the account is activated again.":
        "Deaktivere %(email)s? Vedkommende logges ut overalt med en gang og kan ikke logge inn igjen før kontoen aktiveres.",
    "Yes, deactivate": "Ja, deaktiver",
    "Activate…": "Aktiver …",
    "Activate %(email)s again? They can sign in with the rights listed above.":
        "Aktivere %(email)s igjen? Vedkommende kan logge inn med rettighetene over.",
    "Yes, activate": "Ja, aktiver",
    "New one-time password…": "Nytt engangspassord …",
    "Give %(email)s a new one-time password? Their current password stops working at once.":
        "Gi %(email)s et nytt engangspassord? Det nåværende passordet slutter å virke med en gang.",
    "Yes, make a new password": "Ja, lag et nytt passord",
    "Remove this sign-in rule? The rights it gave are taken away at the next sign-in.":
        "Fjerne denne innloggingsregelen? Rettighetene den ga, tas bort ved neste innlogging.",
    "Yes, remove the rule": "Ja, fjern regelen",
    "Revoke…": "Trekk tilbake …",
    "Revoke the API token %(name)s? Whatever uses it is refused from now on.":
        "Trekke tilbake API-nøkkelen %(name)s? Alt som bruker den, avvises fra nå av.",
    "Yes, revoke": "Ja, trekk tilbake",
    "several schools": "flere skoler",
    "Why": "Hvorfor",
    "Decided by": "Avgjort av",
    "and %(count)s more": "og %(count)s til",
    "Approve…": "Godkjenn …",
    "Send “%(command)s” to %(count)s device(s) now? This cannot be undone.":
        "Sende «%(command)s» til %(count)s enhet(er) nå? Dette kan ikke angres.",
    "Yes, approve": "Ja, godkjenn",
    "Note (optional)": "Merknad (valgfritt)",
    "Reject…": "Avvis …",
    "Reject the request? Nothing is sent; %(who)s sees your note.":
        "Avvise forespørselen? Ingenting sendes; %(who)s ser merknaden din.",
    "Yes, reject": "Ja, avvis",
    "Ask for “%(command)s” on %(device)s? A central admin approves it before it is sent. Say why.":
        "Be om «%(command)s» på %(device)s? En sentral administrator godkjenner det før det sendes. Si hvorfor.",
    "Yes, ask for it": "Ja, be om det",
    "Ask to remove…": "Be om å fjerne …",
    "Ask a central admin to remove %(device)s from Flokk? Say why.":
        "Be en sentral administrator om å fjerne %(device)s fra Flokk? Si hvorfor.",
    "Yes, ask to remove": "Ja, be om å fjerne",
    "Revoke the enrollment link %(label)s? iPads can no longer enrol with it; those already enrolled stay.":
        "Trekke tilbake innrulleringslenken %(label)s? iPader kan ikke lenger rulles inn med den; de som allerede er innrullert, blir værende.",
    "Delete…": "Slett …",
    "Delete the group %(group)s? Its %(count)s device(s) stay at the school without a group, and the group's own settings stop applying to them.":
        "Slette gruppen %(group)s? De %(count)s enhetene blir værende på skolen uten gruppe, og gruppens egne innstillinger slutter å gjelde for dem.",
    "Yes, delete the group": "Ja, slett gruppen",
    # Layout (issue 16)
    "Waiting for approval": "Venter på godkjenning",
    "Skip to the content": "Gå til innholdet",
    "Menu": "Meny",
    "Main menu": "Hovedmeny",
    # The overview (issue 16)
    "Devices by OS version": "Enheter etter OS-versjon",
    "Devices by the day they last checked in, the last 30 days": "Enheter etter dagen de sist tok kontakt, de siste 30 dagene",
    "Overview": "Oversikt",
    "The school's page": "Skolens side",
    "devices": "enheter",
    "waiting to enrol": "venter på innrullering",
    "not seen for 7 days": "ikke sett på 7 dager",
    "not seen for 30 days": "ikke sett på 30 dager",
    "with commands waiting": "med kommandoer som venter",
    "failed commands (30 days)": "mislykkede kommandoer (30 dager)",
    "approvals waiting": "venter på godkjenning",
    "No devices have reported a version yet.": "Ingen enheter har rapportert en versjon ennå.",
    "Expiring soon": "Utløper snart",
    "Enrollment link %(label)s at %(school)s expires %(when)s.": "Innrulleringslenken %(label)s på %(school)s utløper %(when)s.",
    "API token %(name)s expires %(when)s.": "API-nøkkelen %(name)s utløper %(when)s.",
    "Enrolled": "Innrullert",
    "Not seen for 30 days": "Ikke sett på 30 dager",
    # Settings as a form (issue 16)
    "Change settings": "Endre innstillinger",
    "supervised iPads only": "bare overvåkede iPader",
    "from %(low)s to %(high)s": "fra %(low)s til %(high)s",
    "On": "På",
    "Not set": "Ikke satt",
    "Apple's default": "Apples standard",
    "Note for the history": "Merknad til historikken",
    "Lists, dictionaries and other payloads: use the expert field below.":
        "Lister, ordbøker og andre profiltyper: bruk ekspertfeltet under.",
}


def messages(root):
    """Every translatable message of the dashboard (Python and templates), with where it is used."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(root / "app"), method_map, keywords={**DEFAULT_KEYWORDS, "_": None}
    ):
        if isinstance(message, str):
            found.setdefault(message, []).append((filename, line))
    return found


def main() -> None:
    """Check every message has a translation, write the .po and compile the .mo."""
    import sys
    from pathlib import Path

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    root = Path(__file__).resolve().parents[1]
    found = messages(root)
    missing = [message for message in found if message not in NB]
    if missing:
        sys.exit("untranslated: " + "; ".join(missing))
    catalog = Catalog(locale="nb", project="Flokk")
    for message, locations in sorted(found.items()):
        catalog.add(message, NB[message], locations=locations)
    folder = root / "app" / "translations" / "nb" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, catalog, sort_output=True, no_location=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    print(f"wrote {len(catalog)} messages to {folder}")


if __name__ == "__main__":
    main()
