"""个人所得税 on 劳务报酬: what is withheld from a payee's income of a month."""
