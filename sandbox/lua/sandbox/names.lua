-- Word lists for generated people and places, per studio language. Some names carry non-ASCII
-- letters and an apostrophe on purpose: clients must round-trip UTF-8 and quotes.

return {
  en = {
    phone = "+1 212 555 %04d",
    female = { "Olivia", "Emma", "Ava", "Sophia", "Mia", "Amelia", "Harper", "Zoë", "Chloe",
      "Grace", "Nora", "Lily" },
    male = { "Liam", "Noah", "Oliver", "James", "Elijah", "William", "Henry", "Lucas",
      "Benjamin", "Theo", "Jack", "Owen" },
    last = { "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
      "O'Brien", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee" },
    streets = { "Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street",
      "Park Road", "Lake View Boulevard", "Hillside Court" },
    cities = { { "10001", "New York" }, { "11201", "Brooklyn" }, { "07302", "Jersey City" },
      { "10601", "White Plains" }, { "06901", "Stamford" } },
    rates = { "Basic Monthly", "Premium 12 Months", "Flex 3 Months", "Student", "Off-Peak" },
    reasons = { "Travel", "Injury", "Parental leave", "Military service" },
    restrictions = { "Outstanding payment", "House rules", "Missing documents" },
  },
  de = {
    phone = "+49 30 %08d",
    female = { "Anna", "Lena", "Marie", "Sophie", "Käthe", "Hannah", "Lea", "Johanna",
      "Charlotte", "Frieda", "Zoë", "Mia" },
    male = { "Lukas", "Jonas", "Felix", "Maximilian", "Paul", "Elias", "Jürgen", "Ben",
      "Noah", "Emil", "Moritz", "Björn" },
    last = { "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
      "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Groß" },
    streets = { "Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee",
      "Am Sportplatz", "Kastanienweg", "Friedrichstraße" },
    cities = { { "10115", "Berlin" }, { "10243", "Berlin" }, { "14467", "Potsdam" },
      { "12529", "Schönefeld" }, { "15711", "Königs Wusterhausen" } },
    rates = { "Basis monatlich", "Premium 12 Monate", "Flex 3 Monate", "Studierende",
      "Vormittagstarif" },
    reasons = { "Reise", "Verletzung", "Elternzeit", "Auslandsaufenthalt" },
    restrictions = { "Offene Zahlung", "Hausordnung", "Fehlende Unterlagen" },
  },
}
